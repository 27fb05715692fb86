"""The kernels kdoctor keeps in its cache, as artefacts: how one is made and when it is trusted.

Where each thing lives is :mod:`kdoctor.model.cache_layout` (pure, so the facts and checks that
only look use it too); this module owns the discipline the fetch of an image
(:mod:`kdoctor.pipeline.kernels.image`) and of a whole Debian kernel
(:mod:`kdoctor.pipeline.kernels.fetch`) share. A fetch works in a ``.partial-*`` directory next
to its destination (what an interrupted one left is removed first), records an image's sha256
next to it before moving the image into place with one rename (the image's presence marks it
complete), and a cached image is trusted only while it matches that record. Both hold the
artefact's lock (``System.lock``) while they check or make it.
"""

from __future__ import annotations

import hashlib
import os
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import PARTIAL, checksum_path


def work_dir(system: System, destination: str) -> str:
    """A fresh ``.partial-*`` directory in ``destination`` (made if missing), after removing
    what an interrupted fetch left there."""
    system.makedirs(destination)
    for name in system.listdir(destination):
        if name.startswith(PARTIAL):
            system.remove_tree(os.path.join(destination, name))
    return system.make_temp_dir(PARTIAL, destination)


def sha256_of(system: System, path: str) -> Optional[str]:
    data = system.read_bytes(path)
    return None if data is None else hashlib.sha256(data).hexdigest()


def place_image(system: System, source: str, image: str, digest: str, release: str) -> None:
    """Move the fetched ``source`` to ``image``: the checksum first, then the image, whose
    presence is what marks the fetch as complete."""
    system.write_file(checksum_path(image), f"{digest}  {release}\n")
    system.rename(source, image)


def image_damage(system: System, image: str) -> Optional[str]:
    """Why the cached ``image`` cannot be trusted (empty, or not what was fetched), else None;
    an image put there by hand has no recorded checksum and is trusted as it is."""
    data = system.read_bytes(image)
    if not data:
        return _("it is empty or unreadable")
    recorded = (system.read_text(checksum_path(image)) or "").split()
    if recorded and hashlib.sha256(data).hexdigest() != recorded[0]:
        return _("its sha256 differs from the one recorded when it was fetched")
    return None
