"""What the guest is doing while the VM runs, told as it happens: the stage its console shows.

The guest's ``/init`` (:mod:`kdoctor.pipeline.verify.guest`) prints a marker as it passes each
point (``boot`` when ``/init`` starts, ``insmod`` and ``rmmod`` with their exit codes, ``done``
before it powers off); each one starts the next stage. Only what a person is shown comes from
here: the verdict is read from the whole console afterwards (:mod:`console`), as before.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from kdoctor.i18n import N_, _
from kdoctor.pipeline.verify.console import marker_event

Step = Callable[[str], None]

#: the stage each marker starts (None: qemu started, the kernel is booting)
STAGES: dict[Optional[str], str] = {
    None: N_("boot: the kernel is starting"),
    "boot": N_("insmod: loading the module"),
    "insmod": N_("rmmod: unloading the module"),
    "rmmod": N_("messages: reading the kernel log"),
    "done": N_("power-off"),
}


class StageWatch:
    """Reads one guest's console lines and tells each new stage through ``step``, with the
    seconds since qemu started: ``<headline> · <stage> (<seconds> s)``."""

    def __init__(
        self,
        headline: str,
        step: Step,
        *,
        announce: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.headline = headline
        self.step = step
        self.clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        #: the stages told so far, in order (None: the boot, told at once when ``announce``)
        self.seen: list[Optional[str]] = []
        if announce:
            self._tell(None)

    def line(self, line: str) -> None:
        """A console line: a marker that starts a stage not seen yet is told."""
        event = marker_event(line)
        if event is not None and event in STAGES:
            self._tell(event)

    def _tell(self, event: Optional[str]) -> None:
        with self._lock:
            if event in self.seen:
                return
            self.seen.append(event)
            seconds = self.clock() - self.started
        self.step(
            _("{headline} · {stage} ({seconds} s)").format(
                headline=self.headline, stage=_(STAGES[event]), seconds=f"{seconds:.1f}"
            )
        )
