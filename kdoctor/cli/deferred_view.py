"""``kdoctor fix``'s console view, built when the pipeline first reaches a hook.

The view renders with Rich (``render/text.py``, ~60-100 ms to import). Nothing is shown before
the diagnosis ends, so the import runs on a thread while the checks wait for their probes and
the view is built from it when first needed: the same view, off the critical path.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Optional

from kdoctor.model.plan import Plan
from kdoctor.pipeline.provision import Event, Hooks, Progress, ProvisionResult

if TYPE_CHECKING:
    from kdoctor.cli.fix_view import FixView


def _import_view() -> None:
    import kdoctor.cli.fix_view  # noqa: F401  (Rich and the text renderer)


class DeferredView(Hooks):
    """A :class:`~kdoctor.cli.fix_view.FixView` on stdout (stderr with ``stderr``), imported
    in the background from the moment this is made."""

    def __init__(self, *, stderr: bool, verbose: bool = False) -> None:
        self._stderr = stderr
        self._verbose = verbose
        self._view: Optional[FixView] = None
        self._loading = threading.Thread(target=_import_view, name="kdoctor-view", daemon=True)
        self._loading.start()

    @property
    def view(self) -> FixView:
        if self._view is None:
            self._loading.join()  # a failed import is raised again by the import below
            from kdoctor.cli.fix_view import FixView
            from kdoctor.render import text as render

            self._view = FixView(render.console(stderr=self._stderr), verbose=self._verbose)
        return self._view

    def confirm(self, plan: Plan) -> Optional[bool]:
        return self.view.confirm(plan)

    def progress(self, title: str) -> AbstractContextManager[Progress]:
        return self.view.progress(title)

    def reached(self, event: Event, result: ProvisionResult) -> None:
        self.view.reached(event, result)

    def waiting(self, text: str) -> None:
        self.view.waiting(text)

    def ended(self, result: ProvisionResult) -> None:
        self.view.ended(result)
