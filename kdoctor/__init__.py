"""kdoctor: the toolchain doctor and environment provisioner for Rust Linux kernel modules."""

#: the one place the version is written (pyproject.toml reads it from here)
__version__ = "0.1.0"
