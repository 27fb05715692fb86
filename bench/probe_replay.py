#!/usr/bin/env python3
"""Run kdoctor with every command it starts recorded, or answered from a recording.

bench/check.py uses it to measure kdoctor's own floor: a check whose every probe is answered
from memory starts no process at all, so what remains is Python, typer, kdoctor's modules and
its logic. A probe the recording lacks runs for real (and is counted in the output).

    python bench/probe_replay.py record FILE -- check --json
    python bench/probe_replay.py replay FILE -- check --json
"""

from __future__ import annotations

import atexit
import json
import sys
from dataclasses import asdict
from typing import Any


def _key(argv: Any, cwd: Any) -> str:
    return json.dumps([list(argv), cwd])


def main() -> None:
    mode, path, separator, *args = sys.argv[1:]
    if mode not in ("record", "replay") or separator != "--":
        sys.exit(__doc__)
    from kdoctor.machine import runner
    from kdoctor.machine.system import Probe

    real = runner.Runner._execute
    kept: dict[str, dict[str, Any]] = {}
    missed: list[str] = []
    if mode == "replay":
        with open(path) as handle:
            kept = json.load(handle)

    def execute(self: runner.Runner, argv: Any, **kwargs: Any) -> Probe:
        key = _key(argv, kwargs.get("cwd"))
        if mode == "replay":
            if key in kept:
                return Probe(**{**kept[key], "argv": tuple(kept[key]["argv"])})
            missed.append(key)
        probe = real(self, argv, **kwargs)
        if mode == "record":
            kept[key] = {**asdict(probe), "argv": list(probe.argv)}
        return probe

    runner.Runner._execute = execute  # type: ignore[method-assign]

    def finish() -> None:
        if mode == "record":
            with open(path, "w") as handle:
                json.dump(kept, handle)
        elif missed:
            sys.stderr.write(f"probe_replay: {len(missed)} probe(s) not in the recording\n")

    atexit.register(finish)
    sys.argv = ["kdoctor", *args]
    from kdoctor.__main__ import run

    run()


if __name__ == "__main__":
    main()
