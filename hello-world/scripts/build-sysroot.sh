#!/bin/sh
# Build the kernel-target Rust sysroot (core, compiler_builtins stand-in,
# alloc) from the toolchain's rust-src, with plain rustc (no cargo, no
# network). The Makefile calls this once per toolchain/flags key; the
# result is cached and reused by every later build.
#
# Environment (all set by the Makefile):
#   RUSTC         real rustc binary (not a rustup shim)
#   RUST_LIB_SRC  rust-src "library" directory (has core/, alloc/)
#   SYSROOT       output sysroot directory (keyed cache entry)
#   TARGET        built-in target name, or "json" to generate a spec
#   TARGET_NAME   name of the generated target (TARGET=json only)
#   RUSTFLAGS     kernel codegen flags shared with the module build
set -eu

: "${RUSTC:?}" "${RUST_LIB_SRC:?}" "${SYSROOT:?}" "${TARGET:?}"
RUSTFLAGS=${RUSTFLAGS-}
here=$(cd "$(dirname "$0")" && pwd)

for crate in core alloc; do
	if [ ! -f "$RUST_LIB_SRC/$crate/src/lib.rs" ]; then
		echo "build-sysroot: $RUST_LIB_SRC/$crate/src/lib.rs not found;" \
			"install rust-src for $RUSTC or set RUST_LIB_SRC" >&2
		exit 1
	fi
done

mkdir -p "$SYSROOT"

if [ "$TARGET" = json ]; then
	# Toolchains older than ~1.62 have no x86_64-unknown-none. The spec is
	# written at its final path first: old rustc records the spec path in
	# each rlib and refuses rlibs built for a different path.
	target="$SYSROOT/$TARGET_NAME.json"
	cat >"$target" <<'EOF'
{
  "llvm-target": "x86_64-unknown-none-elf",
  "data-layout": "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128",
  "arch": "x86_64",
  "target-endian": "little",
  "target-pointer-width": "64",
  "target-c-int-width": "32",
  "os": "none",
  "linker-flavor": "gcc",
  "executables": true,
  "panic-strategy": "abort",
  "disable-redzone": true,
  "features": "-mmx,-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-3dnow,-3dnowa,-avx,-avx2,+soft-float",
  "code-model": "kernel",
  "relocation-model": "static",
  "function-sections": true,
  "max-atomic-width": 64,
  "needs-plt": true
}
EOF
	libdir="$SYSROOT/lib/rustlib/$TARGET_NAME/lib"
else
	target=$TARGET
	libdir="$SYSROOT/lib/rustlib/$TARGET/lib"
fi

# Each rlib is built in a scratch directory and moved into place whole.
tmp="$SYSROOT/tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp" "$libdir"

edition() {
	sed -n 's/^edition *= *"\([0-9]*\)".*/\1/p' "$RUST_LIB_SRC/$1/Cargo.toml" | head -n 1
}

build() { # crate-name edition source
	echo "  RUSTC   $1 (sysroot)"
	# shellcheck disable=SC2086 # RUSTFLAGS is a list of flags
	RUSTC_BOOTSTRAP=1 "$RUSTC" --crate-name "$1" --crate-type rlib \
		--edition "$2" --target "$target" --sysroot "$SYSROOT" $RUSTFLAGS \
		--cap-lints allow --out-dir "$tmp" "$3"
	mv "$tmp/lib$1.rlib" "$libdir/lib$1.rlib"
}

build core "$(edition core)" "$RUST_LIB_SRC/core/src/lib.rs"
build compiler_builtins 2018 "$here/compiler_builtins.rs"
build alloc "$(edition alloc)" "$RUST_LIB_SRC/alloc/src/lib.rs"

touch "$SYSROOT/.complete"
echo "  SYSROOT $SYSROOT"
