"""The real :class:`~kdoctor.machine.system.System`: the only module that runs subprocesses
(``subprocess.Popen``, each command in its own session, so its own process group)."""

from __future__ import annotations

import contextlib
import functools
import grp
import math
import os
import platform
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Callable, Optional, TextIO, Union

from kdoctor import i18n
from kdoctor.i18n import _
from kdoctor.machine import files, lifecycle
from kdoctor.machine.files import BYTES_LIMIT, TEXT_LIMIT, FileRead, write_atomic
from kdoctor.machine.locks import file_lock
from kdoctor.machine.system import (
    DEFAULT_TIMEOUT,
    OutputCallback,
    Ownership,
    Probe,
    command_not_found,
)

_CacheKey = tuple[tuple[str, ...], Optional[str], tuple[tuple[str, str], ...]]


def _no_moment(point: str) -> None:
    """Nothing happens between the steps of starting a command (see :data:`moment`)."""


#: called at the moments of starting a command where a signal has to be handled: ``"armed"``
#: (signals deferred, the command not started yet) and ``"started"`` (it runs and is recorded,
#: kdoctor has not begun waiting for it); tests deliver a signal exactly there
moment: Callable[[str], None] = _no_moment


class Runner:
    """Runs commands with a timeout each; read-only probes run at most once per invocation.

    Nothing kdoctor or a command it starts makes may be changed by group or others (the umask
    gains 022, for this process and its children): kdoctor trusts only such files in its cache
    (:mod:`kdoctor.machine.trust`), so under a umask of 002 it would refuse its own."""

    def __init__(self, env: Optional[Mapping[str, str]] = None) -> None:
        os.umask(os.umask(0o022) | 0o022)
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        self._cache: dict[_CacheKey, Future[Probe]] = {}
        self._log: list[Probe] = []
        self._setpriv: Optional[list[str]] = None

    # -- commands -----------------------------------------------------------------------
    def probe(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        key: _CacheKey = (tuple(argv), cwd, tuple(sorted((env or {}).items())))
        with self._lock:
            future = self._cache.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._cache[key] = future
        if not owner:
            return future.result()
        try:
            result = self._execute(argv, timeout=timeout, cwd=cwd, env=env, on_output=None)
        except BaseException as exc:  # Ctrl-C while probing: waiters must not hang
            future.set_exception(exc)
            raise
        future.set_result(result)
        return result

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
        stop: Optional[threading.Event] = None,
    ) -> Probe:
        return self._execute(
            argv, timeout=timeout, cwd=cwd, env=env, on_output=on_output, stop=stop
        )

    def _execute(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float],
        cwd: Optional[str],
        env: Optional[Mapping[str, str]],
        on_output: Optional[OutputCallback],
        stop: Optional[threading.Event] = None,
    ) -> Probe:
        argv = tuple(argv)
        started = time.monotonic()

        def done(**fields: Any) -> Probe:
            probe = Probe(
                argv=argv,
                cwd=cwd,
                timeout=timeout or 0.0,
                duration_ms=(time.monotonic() - started) * 1000,
                **fields,
            )
            with self._lock:
                self._log.append(probe)
            return probe

        path = self.which(argv[0])
        if path is None:
            return done(exit_code=None, error=command_not_found())
        if lifecycle.stopping() is not None:
            return done(exit_code=None, error=_("not started: kdoctor is stopping"))
        unarmable = _unarmable(timeout)
        if unarmable:
            return done(exit_code=None, error=unarmable)
        full_env = dict(self.env)
        full_env.update(env or {})
        i18n.child_locale(full_env)  # kdoctor reads what they print, in whatever language
        # a timer that kills the command's process group costs nothing until it fires
        expired = threading.Event()
        out: tuple[str, str] = ("", "")
        chunks: list[str] = []
        flooded: Optional[str] = None
        try:
            proc = None
            timer = None
            try:
                with lifecycle.starting():  # a signal now is raised once the group is known
                    moment("armed")
                    lifecycle.check()  # one that came already: nothing is started
                    proc = subprocess.Popen(
                        [*self._reaped(), path, *argv[1:]],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT if on_output is not None else subprocess.PIPE,
                        cwd=cwd,
                        env=full_env,
                        start_new_session=True,  # its own group: pid is the group id
                    )
                    lifecycle.track(proc.pid)
                    moment("started")
                    lifecycle.check()  # one that came while it started: it is stopped
                timer = _deadline(proc, timeout, expired)
                if stop is not None:
                    _watch(proc, stop, expired)
                if on_output is None:
                    out, flooded = _bounded(proc)
                else:
                    flooded = _relay(proc, chunks, on_output)
                if flooded:
                    _stop(proc, ((signal.SIGTERM, 2.0), (signal.SIGKILL, 1.0)))
                proc.wait()
            except KeyboardInterrupt:
                if proc is not None:
                    _stop(
                        proc, ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0))
                    )
                raise
            except lifecycle.Interrupted:  # SIGINT, SIGTERM, SIGHUP: the whole group goes
                if proc is not None:
                    _stop(proc, ((signal.SIGTERM, 2.0), (signal.SIGKILL, 1.0)))
                raise
            finally:
                if proc is not None:
                    lifecycle.untrack(proc.pid)
                    _close(proc)
                if timer is not None:
                    timer.cancel()
        except (PermissionError, OSError) as exc:
            return done(exit_code=None, error=str(exc.strerror or exc))
        if expired.is_set():  # killed at the deadline (or it ended just as it came)
            return done(exit_code=None, timed_out=True, stdout="".join(chunks))
        if flooded:
            said = "".join(chunks) if on_output is not None else out[0]
            return done(exit_code=None, error=flooded, stdout=said, stderr=out[1])
        if on_output is not None:
            return done(exit_code=proc.returncode, stdout="".join(chunks))
        return done(exit_code=proc.returncode, stdout=out[0], stderr=out[1])

    def _reaped(self) -> list[str]:
        """What starts a command so that it dies with kdoctor, even when kdoctor is killed with
        SIGKILL: ``setpriv --pdeathsig KILL`` (util-linux), when this machine has it."""
        if self._setpriv is None:
            found = shutil.which("setpriv", path=self.env.get("PATH", os.defpath))
            self._setpriv = [found, "--pdeathsig", "KILL", "--"] if found else []
        return self._setpriv

    # -- the file system --------------------------------------------------------------
    def which(self, name: str) -> Optional[str]:
        if os.sep in name:
            return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
        return shutil.which(name, path=self.env.get("PATH", os.defpath))

    def read_text(self, path: str, limit: int = TEXT_LIMIT) -> Optional[str]:
        return files.read_regular(path, limit).text()

    def read_file(self, path: str, limit: int = TEXT_LIMIT) -> FileRead:
        return files.read_regular(path, limit)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def mtime(self, path: str) -> Optional[float]:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None

    def identity(self, path: str) -> Optional[tuple[int, int, int, int]]:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)

    def ownership(self, path: str) -> Optional[Ownership]:
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return None
        return Ownership(
            info.st_uid, info.st_gid, info.st_mode, _user(info.st_uid), _group(info.st_gid)
        )

    def probes(self) -> list[Probe]:
        with self._lock:
            return list(self._log)

    # -- who and what this machine is ---------------------------------------------------
    def uid(self) -> int:
        return os.geteuid()

    def arch(self) -> str:
        return platform.machine()

    def kernel_release(self) -> str:
        return platform.release()

    # -- reading files --------------------------------------------------------------------
    def read_bytes(self, path: str, limit: Optional[int] = None) -> Optional[bytes]:
        if limit is None:
            return files.read_regular(path, BYTES_LIMIT).data
        return files.read_regular(path, limit, prefix=True).data

    def is_file(self, path: str) -> bool:
        return os.path.isfile(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def is_writable(self, path: str) -> bool:
        return os.access(path, os.W_OK)

    def real_path(self, path: str) -> str:
        return os.path.realpath(path)

    # -- changing files ---------------------------------------------------------------------
    def write_file(
        self,
        path: str,
        data: Union[str, bytes],
        *,
        backup: bool = False,
        mode: Optional[int] = None,
    ) -> Optional[str]:
        return write_atomic(path, data, backup=backup, mode=mode)

    def makedirs(self, path: str) -> None:
        files.make_dirs(path)

    def make_temp_dir(self, prefix: str, parent: str) -> str:
        files.make_dirs(parent)
        _sweep(prefix, parent)
        try:
            path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)
        except OSError as exc:
            raise files.place_error(parent, exc) from exc
        lifecycle.add_scratch(path)  # removed on a signal if the caller cannot
        return path

    def remove_tree(self, path: str) -> None:
        lifecycle.drop_scratch(path)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)

    def rename(self, source: str, target: str) -> None:
        os.replace(source, target)

    def copy_tree(self, source: str, target: str) -> list[str]:
        try:
            return self._copy_tree(source, target)
        except OSError as exc:
            raise files.place_error(target, exc) from exc

    def _copy_tree(self, source: str, target: str) -> list[str]:
        dangling: list[str] = []
        for root, dirs, names in os.walk(source):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            rel = os.path.relpath(root, source)
            os.makedirs(os.path.join(target, rel), exist_ok=True)
            for name in names:
                src, dst = os.path.join(root, name), os.path.join(target, rel, name)
                try:
                    s = os.stat(src)
                except FileNotFoundError:
                    if os.path.islink(src):
                        dangling.append(src)  # an editor's lock file: nothing to copy
                        continue
                    raise
                if not stat.S_ISREG(s.st_mode):
                    continue  # a FIFO or a device would block or never end: never copied
                try:
                    d = os.stat(dst)
                    if d.st_size == s.st_size and int(d.st_mtime) == int(s.st_mtime):
                        continue
                except OSError:
                    pass
                shutil.copy2(src, dst)
        return dangling

    def lock(
        self, path: str, on_wait: Optional[Callable[[str], None]] = None
    ) -> AbstractContextManager[None]:
        return file_lock(path, on_wait)

    def open_log(self, path: str, *, append: bool = False) -> TextIO:
        return files.open_log(path, append=append)


@functools.lru_cache(maxsize=64)
def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@functools.lru_cache(maxsize=64)
def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _sweep(prefix: str, parent: str) -> None:
    """Remove what a kdoctor that died (even by SIGKILL, which leaves no chance to clean up)
    left of its scratch directories ``<prefix><pid>-*`` in ``parent``: those of a process that
    no longer runs."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        path = os.path.join(parent, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _unarmable(timeout: Optional[float]) -> Optional[str]:
    """Why a watchdog of ``timeout`` seconds cannot be armed (None: it can, or none is asked)."""
    if timeout is None or timeout == 0:
        return None
    if not math.isfinite(timeout) or timeout < 0 or timeout > threading.TIMEOUT_MAX:
        return _("not started: a timeout of {timeout} s cannot be armed as a watchdog").format(
            timeout=repr(timeout)
        )
    return None


def _deadline(
    proc: subprocess.Popen[bytes], timeout: Optional[float], expired: threading.Event
) -> Optional[threading.Timer]:
    """Kill the command's whole process group when ``timeout`` seconds pass."""
    if not timeout:
        return None

    def expire() -> None:
        expired.set()
        _signal_group(proc, signal.SIGKILL)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return timer


def _watch(proc: subprocess.Popen[bytes], stop: threading.Event, expired: threading.Event) -> None:
    """Kill the command's whole process group once ``stop`` is set (while it still runs)."""

    def watch() -> None:
        while proc.poll() is None:
            if stop.wait(0.05):
                expired.set()
                _signal_group(proc, signal.SIGKILL)
                return

    threading.Thread(target=watch, name="kdoctor-stop", daemon=True).start()


def _stop(
    proc: subprocess.Popen[bytes], escalation: tuple[tuple[signal.Signals, float], ...]
) -> None:
    """Stop the command's whole process group (it runs in its own session), escalating."""
    for sig, grace in escalation:
        if not _signal_group(proc, sig):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    _signal_group(proc, signal.SIGKILL)  # leftovers: background children of the command
    proc.poll()  # reaped: no zombie left behind


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> bool:
    try:
        os.killpg(proc.pid, sig)
        return True
    except (OSError, ProcessLookupError):
        return False


#: how much a probe keeps of each of its streams; a tool printing more is stopped
PROBE_OUTPUT_LIMIT = 4 << 20
#: how much a long command (a build, an install) may print in all before it is stopped, how long
#: one of its lines may be, and how much of its output is kept (its head and its tail)
RUN_OUTPUT_LIMIT = 512 << 20
LINE_LIMIT = 64 << 10
KEPT_OUTPUT = 1 << 20


def _flood(limit: int) -> str:
    return _("it printed more than {size} MiB and was stopped").format(size=limit >> 20)


def _relay(
    proc: subprocess.Popen[bytes], chunks: list[str], on_output: OutputCallback
) -> Optional[str]:
    """Hand each line of the command's output (stderr merged) to ``on_output`` as it comes
    (a line longer than :data:`LINE_LIMIT` in pieces); keep its head and its tail in
    ``chunks``; past :data:`RUN_OUTPUT_LIMIT` in all, say why it must be stopped."""
    assert proc.stdout is not None
    total = kept = 0
    tail: list[str] = []
    tail_size = 0
    for raw in iter(lambda: proc.stdout.readline(LINE_LIMIT), b""):  # type: ignore[union-attr]
        line = raw.decode("utf-8", errors="replace")
        total += len(raw)
        if kept < KEPT_OUTPUT:
            chunks.append(line)
            kept += len(raw)
        else:
            tail.append(line)
            tail_size += len(raw)
            while tail_size > KEPT_OUTPUT and tail:
                tail_size -= len(tail.pop(0).encode("utf-8", errors="replace"))
        on_output(line)
        if total > RUN_OUTPUT_LIMIT:
            break
    if tail:
        cut = total - kept - tail_size
        if cut > 0:
            chunks.append(_("[… {size} bytes of output left out …]\n").format(size=cut))
        chunks.extend(tail)
    return _flood(RUN_OUTPUT_LIMIT) if total > RUN_OUTPUT_LIMIT else None


def _bounded(proc: subprocess.Popen[bytes]) -> tuple[tuple[str, str], Optional[str]]:
    """A probe's stdout and stderr, each up to :data:`PROBE_OUTPUT_LIMIT`, read together (so
    neither pipe fills); past the limit, say why the tool must be stopped."""
    streams = [proc.stdout, proc.stderr]
    got: list[bytes] = [b"", b""]
    over = threading.Event()
    news = threading.Event()
    ended = [False, False]

    def read(index: int) -> None:
        try:
            _read(index)
        finally:
            ended[index] = True
            news.set()

    def _read(index: int) -> None:
        stream = streams[index]
        if stream is None:
            return
        parts: list[bytes] = []
        size = 0
        while True:
            piece = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not piece:
                break
            if size < PROBE_OUTPUT_LIMIT:
                parts.append(piece[: PROBE_OUTPUT_LIMIT - size])
            size += len(piece)
            if size > PROBE_OUTPUT_LIMIT:
                over.set()
                break
        got[index] = b"".join(parts)

    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in (0, 1)]
    for reader in readers:
        reader.start()
    while True:
        news.wait()  # a reader ended (at end of file, or past the limit)
        news.clear()
        if over.is_set():  # stop the tool: its pipes close, the other reader ends too
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        if not any(reader.is_alive() for reader in readers):
            break
        if all(ended):
            break
    for reader in readers:
        reader.join()
    return _decoded((got[0], got[1])), _flood(PROBE_OUTPUT_LIMIT) if over.is_set() else None


def _close(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _decoded(pair: tuple[Optional[bytes], Optional[bytes]]) -> tuple[str, str]:
    stdout, stderr = pair
    return (
        (stdout or b"").decode("utf-8", errors="replace"),
        (stderr or b"").decode("utf-8", errors="replace"),
    )
