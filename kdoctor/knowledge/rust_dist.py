"""Where rustup downloads toolchains from."""

from __future__ import annotations

#: the host rustup downloads toolchains and components from
RUST_HOST = "static.rust-lang.org"
