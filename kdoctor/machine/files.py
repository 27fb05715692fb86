"""Writing files so that an interruption leaves either the old file or the new one, never half."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional, Union


def write_atomic(
    path: str, text: Union[str, bytes], *, backup: bool = False, mode: Optional[int] = None
) -> Optional[str]:
    """Replace ``path`` with ``text`` (bytes, or text written as UTF-8) atomically; keep
    ``path~`` as a backup when asked.

    Returns the backup's path when one was made.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    saved: Optional[str] = None
    if backup and os.path.exists(path):
        saved = path + "~"
        shutil.copy2(path, saved)
    fd, tmp = tempfile.mkstemp(prefix=".kdoctor-", dir=directory)
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return saved
