"""The checks kdoctor runs, one module each (installed as ``kdoctor.checks``).

:data:`REPORT_ORDER` is where each check stands in the report (and in ``kdoctor list``, the
JSON's ``checks``, completion): every registered check's id, once
(``tests/test_report_order.py``). A new check adds its id here.
"""

#: the checks' ids in report order: the system, the C side and the kernel, the Rust side, then
#: loading the module
REPORT_ORDER = (
    "os",
    "build-tools",
    "compiler-family",
    "module-tools",
    "clang",
    "libclang",
    "kernel-headers",
    "module-dir",
    "kernel-range",
    "rust-for-linux",
    "bindgen",
    "kbuild-cmd",
    "rustup",
    "toolchain",
    "rust-src",
    "rustfmt",
    "cargo",
    "compat",
    "module-target",
    "crates",
    "module-loading",
    "vm",
    "privileges",
)
