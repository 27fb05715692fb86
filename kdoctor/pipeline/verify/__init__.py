"""Verification: the built module loaded and unloaded, in a throwaway VM (``vm``, with its
guest, console, accelerator and boot) or, with consent, on the running kernel (``host``); what
to verify (``target``), the outcome (``result``) and what was last verified (``stamp``).

The package itself holds only what the command line shows without importing the VM machinery
(``kdoctor check`` never boots one)."""

#: seconds a VM may run before it is stopped (``kdoctor verify --timeout``)
DEFAULT_TIMEOUT = 120.0
