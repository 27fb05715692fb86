"""Kernels kdoctor keeps in its cache: Debian's archive through a private apt configuration
(``archive``), a kernel of any suite fetched and adapted to the host (``fetch``), the target's
bootable image (``image``), what both fetches share (``cache``: the work directory, placing and
trusting an image) and the kernel ``--kernel`` names (``foreign``). Where each lives in the cache
is :mod:`kdoctor.model.cache_layout`'s."""
