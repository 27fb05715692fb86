"""The last build kdoctor ran: the newest build log in its cache, and why it failed as the build
read it (the same explainers ``kdoctor build`` uses), for ``kdoctor report``. Only reads."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from kdoctor.knowledge.build_causes import first_cause, without_backtrace
from kdoctor.knowledge.build_errors import explain
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import logs_dir
from kdoctor.model.context import Context

#: the name ``kdoctor build`` gives its logs: ``build-<YYYYmmdd-HHMMSS>-<pid>.log``
_BUILD_LOG = re.compile(r"^build-(\d{8}-\d{6})-\d+\.log$")
#: how many of the log's last lines a report shows
TAIL_LINES = 40
#: the largest log read (a build log is at most 32 MiB and its tail: `build_log.LOG_LIMIT`)
READ_LIMIT = 64 << 20


@dataclass(frozen=True)
class LastBuild:
    """The newest build log: where it is, the line that says why the build failed (None: the
    log names no error, as after a build that succeeded), and its last lines."""

    log_path: str
    cause: Optional[str]
    tail: tuple[str, ...]


def newest_build_log(ctx: Context, system: System) -> Optional[str]:
    """The path of the newest ``build-*.log`` in the cache's logs (None: kdoctor built nothing
    there yet). Newest by its name's timestamp, then by its modification time."""
    directory = logs_dir(ctx.cache_dir)
    logs = []
    for name in system.listdir(directory):
        match = _BUILD_LOG.match(name)
        if match:
            path = os.path.join(directory, name)
            logs.append((match.group(1), system.mtime(path) or 0.0, path))
    return max(logs)[2] if logs else None


def last_build(ctx: Context, system: System, lines: int = TAIL_LINES) -> Optional[LastBuild]:
    """The newest build log, its cause and its last ``lines`` lines (None: no build log, or it
    cannot be read)."""
    path = newest_build_log(ctx, system)
    if path is None:
        return None
    text = system.read_text(path, limit=READ_LIMIT)
    if text is None:
        return None
    explanations = explain(text)
    cause = explanations[0].evidence.strip() if explanations else first_cause(text)
    return LastBuild(path, cause, tuple(without_backtrace(text.splitlines())[-lines:]))
