"""fix's console view: Rich imported on a thread while the checks run, the view built when the
pipeline first reaches a hook, and what it shows unchanged."""

from __future__ import annotations

import subprocess
import sys

from kdoctor.cli.deferred_view import DeferredView
from kdoctor.model.plan import Plan
from kdoctor.model.report import Report
from kdoctor.pipeline.provision import Event, ProvisionResult
from tests.conftest import make_context


def test_the_view_is_imported_on_another_thread_and_rendered_when_reached(capsys) -> None:  # type: ignore[no-untyped-def]
    view = DeferredView(stderr=False)
    assert view._loading.name == "kdoctor-view"
    ctx = make_context()
    result = ProvisionResult(ctx, Report(ctx, (), 0.0), Plan(()), ctx)
    view.reached(Event.PLANNED, result)
    assert "nothing to do" in capsys.readouterr().out
    assert view.view is view.view  # built once


def test_making_the_view_does_not_import_rich_on_the_calling_thread() -> None:
    code = (
        "import sys, threading\n"
        "seen = []\n"
        "import builtins\n"
        "real = builtins.__import__\n"
        "def spy(name, *a, **k):\n"
        "    main = threading.current_thread() is threading.main_thread()\n"
        "    if name.startswith('rich') and main:\n"
        "        seen.append(name)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = spy\n"
        "from kdoctor.cli.deferred_view import DeferredView\n"
        "v = DeferredView(stderr=True)\n"
        "v._loading.join()\n"
        "assert 'rich' in sys.modules, 'not imported at all'\n"
        "print(len(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_the_spinner_s_machinery_is_imported_only_for_a_terminal() -> None:
    code = (
        "import io, sys\n"
        "from kdoctor.render import text\n"
        "assert 'rich.progress' not in sys.modules, 'imported with the renderer'\n"
        "with text.StepDisplay(text.console(io.StringIO()), 'build') as d:\n"
        "    d.step('compiling')\n"
        "assert 'rich.progress' not in sys.modules, 'imported for a pipe'\n"
        "from rich.console import Console\n"
        "out = io.StringIO()\n"
        "shown = Console(file=out, force_terminal=True, force_interactive=True)\n"
        "with text.StepDisplay(shown, 'build') as d:\n"
        "    d.step('compiling')\n"
        "assert 'rich.progress' in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
