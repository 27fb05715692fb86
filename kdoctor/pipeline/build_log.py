"""The build's log, bounded and fault-tolerant: a build that prints forever keeps the log under
:data:`LOG_LIMIT` (its head, then a line saying how much was left out, then its last
:data:`TAIL_LINES` lines), and a log that cannot be written (a full disk) never replaces the
build's own outcome with a second error raised while closing it: the first error is kept and
said once, after the build."""

from __future__ import annotations

import contextlib
from collections import deque
from typing import Optional, TextIO

from kdoctor.i18n import _

#: how much of a build's output the log keeps before it keeps only the tail
LOG_LIMIT = 32 << 20
#: how many of the last lines are kept past the limit
TAIL_LINES = 2000


class BuildLog:
    """Writes to ``handle`` up to ``limit`` bytes, then keeps the last lines; remembers the
    first error writing raised (``error``) and writes nothing after it."""

    def __init__(self, handle: TextIO, limit: int = LOG_LIMIT, tail: int = TAIL_LINES) -> None:
        self.handle = handle
        self.limit = limit
        self.size = 0
        self.left_out = 0
        self.tail: deque[str] = deque(maxlen=tail)
        self.error: Optional[OSError] = None

    def write(self, text: str) -> None:
        if self.error is not None:
            return
        if self.size + len(text) > self.limit:
            if len(self.tail) == self.tail.maxlen:
                self.left_out += len(self.tail[0])
            self.tail.append(text)
            return
        self.size += len(text)
        self._put(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                self.handle.flush()
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        """Write what was kept of the tail, then close; an error here is kept only when it is
        the first."""
        if self.tail and self.error is None:
            if self.left_out:
                self._put(
                    _("\n[kdoctor: {size} bytes of output left out of this log]\n").format(
                        size=self.left_out
                    )
                )
            for line in self.tail:
                self._put(line)
        self.flush()
        try:
            self.handle.close()
        except OSError as exc:
            if self.error is None:
                self.error = exc
        with contextlib.suppress(Exception):
            self.tail.clear()

    def _put(self, text: str) -> None:
        try:
            self.handle.write(text)
        except OSError as exc:
            self.error = exc
