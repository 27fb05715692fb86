//! Minimal stand-in for the `compiler_builtins` crate.
//!
//! rustc makes every `no_std` crate depend on a crate of this name, but the
//! real one is not part of older rust-src trees and needs cargo's build
//! script. The module is linked with `--gc-sections`, so only intrinsics that
//! are really called must exist; `memcpy`, `memset`, `memmove`, `memcmp` and
//! `bcmp` come from the kernel. Anything else shows up as an undefined symbol
//! at modpost time.

#![no_std]
#![allow(unknown_lints, internal_features)]
#![feature(compiler_builtins)]
#![compiler_builtins]
#![no_builtins]
