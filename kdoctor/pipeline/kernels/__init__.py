"""Kernels kdoctor keeps in its cache: Debian's archive through a private apt configuration
(``archive``), a kernel of any suite fetched and adapted to the host (``fetch``), the target's
bootable image (``image``) and the kernel ``--kernel`` names (``foreign``)."""
