"""How long a verification VM may run: a constant of its own, so the command line can show it
without importing the VM machinery (``kdoctor check`` never boots one)."""

#: seconds a VM may run before it is stopped (``kdoctor verify --timeout``)
DEFAULT_TIMEOUT = 120.0
