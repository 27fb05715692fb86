"""``kdoctor build``: the module build, run with the toolchain and variables kdoctor diagnosed."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

from kdoctor.facts.cache_trust import refuse_build
from kdoctor.facts.module_tools import tool_origins
from kdoctor.i18n import _
from kdoctor.knowledge import safe_values
from kdoctor.knowledge.build_causes import Explanation, first_cause, without_backtrace
from kdoctor.knowledge.build_errors import explain
from kdoctor.knowledge.chroot import in_root
from kdoctor.knowledge.module_tools import MAKE_VARS
from kdoctor.machine.files import place_error
from kdoctor.machine.system import Probe, System
from kdoctor.model.cache_layout import build_lock, module_copy
from kdoctor.model.context import Context
from kdoctor.model.module import CargoStep
from kdoctor.pipeline.build_log import BuildLog

BUILD_TIMEOUT = 1800.0

# kbuild's quiet lines ("  CC [M]  /x/y.o"), ours ("  RUSTC   ...") and make's directory notes
_STEP = re.compile(r"^\s{2}([A-Z][A-Z0-9_-]+(?: \[M\])?)\s+(\S.*)$")


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    module_dir: str
    ko: Optional[str]
    log_path: str
    duration_s: float
    argv: tuple[str, ...]
    exit_code: Optional[int]
    explanations: tuple[Explanation, ...] = ()
    tail: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    #: the log line that states why the build failed (the main explanation's evidence, else
    #: the first error line), quoted as it is
    cause: Optional[str] = None

    @property
    def refused(self) -> bool:
        """make did not run: a value kdoctor would have passed to it is not a plain word."""
        return any(e.id == "unsafe-value" for e in self.explanations)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "refused": self.refused,
            "module_dir": self.module_dir,
            "ko": self.ko,
            "log": self.log_path,
            "duration_s": round(self.duration_s, 2),
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "env": dict(self.env),
            "explanations": [
                {"id": e.id, "cause": e.cause, "remedy": e.remedy, "evidence": e.evidence}
                for e in self.explanations
            ],
            "tail": list(self.tail),
            "cause": self.cause,
        }


def working_module_dir(
    ctx: Context, system: System, on_note: Callable[[str], None] = lambda note: None
) -> str:
    """Where to build: the module directory itself, or a copy in the cache when it is read-only
    (the hello-world shipped inside an installed kdoctor) or when its path has a space, which
    kbuild cannot build in (``M=`` takes one word); the copy is brought up to date with
    :meth:`System.copy_tree` (new or changed files only, so make's timestamps stay useful)."""
    target = copy_target(ctx, system)
    if target is None:
        return ctx.module_dir
    for link in system.copy_tree(ctx.module_dir, target):
        on_note(
            _("{link} is a link to nothing (an editor's lock file?): not copied").format(link=link)
        )
    return target


def _plain_path(path: str) -> bool:
    """A path make and the tools can carry: valid UTF-8 (no undecodable bytes) and printable."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return path.isprintable()


def copy_target(ctx: Context, system: System) -> Optional[str]:
    """Where in the cache the module is copied to be built, or None to build it in place."""
    source = ctx.module_dir
    spaced = " " in source or not _plain_path(source)
    if system.is_writable(source) and "site-packages" not in source.split(os.sep) and not spaced:
        return None
    name = os.path.basename(source.rstrip("/"))
    if spaced:  # one copy per source directory, named without the space
        digest = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        plain = "".join(c if c.isprintable() and c != " " and _plain_path(c) else "_" for c in name)
        name = f"{plain}-{digest}"
    return module_copy(ctx.cache_dir, name)


def make_argv(
    ctx: Context,
    module_dir: str,
    rustc: Optional[str],
    target: str = "",
    cargo: Optional[str] = None,
    variables: Sequence[str] = (),
) -> list[str]:
    argv = ["make", "-C", module_dir, f"KDIR={ctx.kdir}"]
    if rustc:
        argv.append(f"RUSTC={rustc}")
    if cargo:
        argv.append(f"CARGO={cargo}")
    argv += [f"{k}={ctx.env[k]}" for k in MAKE_VARS if ctx.env.get(k)]
    argv += variables
    if target:
        argv.append(target)
    return argv


def build_env(
    ctx: Context,
    toolchain_env: Mapping[str, str],
    cargo_dir: Optional[str] = None,
    path: str = "",
) -> dict[str, str]:
    """The build's environment: the toolchain's, kdoctor's cache, the cargo home kdoctor chose
    (``CARGO_HOME``), and the chosen cargo's directory first on PATH (a Makefile that runs
    ``cargo`` by name gets the one matched to rustc, not rustup's proxy)."""
    env = dict(toolchain_env)
    env.setdefault("KDOCTOR_CACHE", ctx.cache_dir)
    if ctx.env.get("CARGO_HOME"):
        env.setdefault("CARGO_HOME", ctx.env["CARGO_HOME"])
    if cargo_dir:
        env["PATH"] = os.pathsep.join(p for p in (cargo_dir, path) if p)
    return env


def refused_values(argv: list[str], env: Mapping[str, str]) -> list[Explanation]:
    """Why make must not run with these variables: every value on its command line (``-C``'s
    directory and ``NAME=value``) and in the environment kdoctor adds must be a plain path or
    word, since make evaluates ``$(...)`` in them and its recipes hand them to a shell."""
    values: dict[str, str] = {}
    if "-C" in argv:
        values["module directory"] = argv[argv.index("-C") + 1]
    for word in argv[1:]:
        name, sep, value = word.partition("=")
        if sep and not word.startswith("-"):
            values[name] = value
    values.update(env)
    return [
        Explanation(
            "unsafe-value",
            _("{problem}; kdoctor did not run make with it").format(
                problem=safe_values.describe(name, value, reason)
            ),
            safe_values.remedy(name),
            f"{name}={value}",
        )
        for name, value, reason in safe_values.unsafe_items(values)
    ]


def build(
    ctx: Context,
    system: System,
    *,
    rustc: Optional[str],
    toolchain_env: Mapping[str, str],
    log_dir: str,
    on_step: Callable[[str], None] = lambda step: None,
    timeout: float = BUILD_TIMEOUT,
    cargo: Optional[str] = None,
    cargo_on_path: bool = False,
    on_line: Callable[[str], None] = lambda line: None,
    target: str = "",
    variables: Sequence[str] = (),
    step: Optional[CargoStep] = None,
) -> BuildResult:
    """Build the module with make; the directory it is built in (the module's, or its copy in
    the cache while it is brought up to date) is locked, so two kdoctor runs never build in one
    directory at once (the second waits and says so). ``cargo`` (a
    cargo-driven module's, matched to ``rustc``) is passed as ``CARGO`` and, with
    ``cargo_on_path``, its directory goes first on PATH. Every line make prints goes to the
    log and to ``on_line``. A ``target`` (``sysroot``) makes only that; no ``.ko`` is expected.
    ``variables`` (``NAME=value``) go to make's command line too, checked like the others.
    A cargo ``step`` (the archive the Kbuild links, made by a cargo command no build file runs)
    runs first, with that cargo and the same environment; make runs only when it succeeded.
    What it would use from the cache that another user could change stops it first
    (:func:`~kdoctor.facts.cache_trust.refuse_build`, an exit 3)."""
    copy = copy_target(ctx, system)
    refuse_build(ctx, system, copy)  # nothing another user could have planted is built with
    where = copy or build_lock(ctx.cache_dir, ctx.module_dir)  # one build of a directory at once
    with system.lock(where, on_wait=on_step):
        return _build(
            ctx,
            system,
            rustc,
            toolchain_env,
            log_dir,
            on_step,
            timeout,
            cargo,
            cargo_on_path,
            on_line,
            target,
            variables,
            step,
        )


def _build(
    ctx: Context,
    system: System,
    rustc: Optional[str],
    toolchain_env: Mapping[str, str],
    log_dir: str,
    on_step: Callable[[str], None],
    timeout: float,
    cargo: Optional[str],
    cargo_on_path: bool,
    on_line: Callable[[str], None],
    target: str = "",
    variables: Sequence[str] = (),
    step: Optional[CargoStep] = None,
) -> BuildResult:
    notes: list[str] = []
    module_dir = working_module_dir(ctx, system, notes.append)
    for note in notes:
        on_step(note)
    if ctx.toolchain_root:  # the kernel's toolchain root: its own tools, not the host's
        argv = [
            "make",
            "-C",
            module_dir,
            f"KDIR={ctx.kdir}",
            # the person's own RUSTC wins there too (the rust-for-linux check says what it costs)
            *([f"RUSTC={system.env['RUSTC']}"] if system.env.get("RUSTC") else []),
            *variables,
            *([target] if target else []),
        ]
        env = {"KDOCTOR_CACHE": ctx.cache_dir}
    else:
        argv = make_argv(ctx, module_dir, rustc, target, cargo=cargo, variables=variables)
        cargo_dir = os.path.dirname(cargo) if cargo and cargo_on_path else None
        env = build_env(ctx, toolchain_env, cargo_dir, system.env.get("PATH", ""))
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # two runs in one second
    began = time.time()
    log_path = os.path.join(log_dir, f"build-{stamp}.log")
    started = time.monotonic()
    refused = refused_values(argv, env)
    if refused:
        return BuildResult(
            ok=False,
            module_dir=module_dir,
            ko=None,
            log_path=log_path,
            duration_s=time.monotonic() - started,
            argv=tuple(argv),
            exit_code=None,
            explanations=tuple(refused),
            env=env,
        )
    # make runs in the module directory, as a person building it would: a Makefile's $(PWD)
    # (the shell's variable, which make -C does not change) names it, not kdoctor's directory
    # (-C's value, checked above, is the same one)
    env["PWD"] = module_dir
    log = BuildLog(system.open_log(log_path))
    try:
        if ctx.toolchain_root:
            log.write(f"# in kdoctor's toolchain root {ctx.toolchain_root}\n")

        def on_output(line: str) -> None:
            log.write(line)
            log.flush()
            on_line(line)
            match = _STEP.match(line.rstrip("\n"))
            if match:
                on_step(f"{match.group(1).strip()} {os.path.basename(match.group(2).strip())}")

        probe: Optional[Probe] = None
        if step is not None:
            step_argv, step_dir = [cargo or "cargo", *step.args], _moved(ctx, step, module_dir)
            # cargo runs the chosen rustc, as make's recipes do (RUSTC= on its command line)
            step_env = {**env, "RUSTC": rustc} if rustc and not ctx.toolchain_root else env
            step_env = {**step_env, "PWD": step_dir}
            log.write(f"$ cd {shlex.quote(step_dir)} && {shown_command(step_argv, step_env)}\n")
            on_step(f"CARGO {step.args[0]} {os.path.basename(step.archive)}")
            ran = _run(ctx, system, step_argv, step_dir, step_env, timeout, on_output)
            if not ran.ok:
                probe, argv = ran, step_argv
                log.write(f"\nkdoctor: `{step.shown()}` failed, so make did not run\n")
        if probe is None:
            log.write(f"$ {shown_command(argv, env)}\n")
            probe = _run(ctx, system, argv, module_dir, env, timeout, on_output)
        if probe.timed_out:
            log.write(f"\nkdoctor: the build did not finish within {timeout:g} s and was stopped\n")
        ko = _find_ko(system, module_dir) if probe.ok and not target else None
        if ko is not None and not _kbuild_ran(probe.stdout, system, ko, began):
            log.write(  # in English, as the tools' lines around it: the explainers read it
                f"\nkdoctor: make exited 0, but kbuild never ran and {ko} is from an earlier "
                "build: it is not taken as built\n"
            )
            ko = None
    finally:
        log.close()
    if log.error is not None:  # the log could not be written (a full disk): said once, exit 3
        raise place_error(log_path, log.error)
    text = system.read_text(log_path, limit=64 << 20) or ""  # a build log may be long
    ok = probe.ok and (ko is not None or bool(target))
    where = None if ctx.toolchain_root else (lambda: tool_origins(ctx, system))
    explanations = tuple(explain(text, where)) if not ok else ()
    cause = None
    if not ok:
        cause = explanations[0].evidence.strip() if explanations else first_cause(text)
    return BuildResult(
        ok=ok,
        module_dir=module_dir,
        ko=ko,
        log_path=log_path,
        duration_s=time.monotonic() - started,
        argv=tuple(argv),
        exit_code=probe.exit_code,
        explanations=explanations,
        tail=tuple(without_backtrace(text.splitlines())[-15:]) if not ok else (),
        env=env,
        cause=cause,
    )


def _kbuild_ran(output: str, system: System, ko: str, began: float) -> bool:
    """The ``.ko`` is this build's: made now, or kbuild ran and found it up to date (it enters
    the kernel tree, and says so); a make that exits 0 without either left a stale one."""
    made = system.mtime(ko)
    if made is not None and made >= began - 1:
        return True
    return "Entering directory '" in output or "MODPOST" in output


def _moved(ctx: Context, step: CargoStep, module_dir: str) -> str:
    """The step's directory in the directory being built (a copy in the cache, maybe)."""
    relative = os.path.relpath(step.directory, ctx.module_dir)
    return os.path.normpath(os.path.join(module_dir, relative))


def _run(
    ctx: Context,
    system: System,
    argv: list[str],
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    on_output: Callable[[str], None],
) -> Probe:
    """A command of the build (make, or the cargo step before it) in ``cwd``, on the host or
    in the toolchain root (``env -C`` enters ``cwd`` there, with only ``env`` set)."""
    if ctx.toolchain_root:
        rooted = in_root(
            ctx.toolchain_root,
            argv,
            binds=[ctx.cache_dir, cwd],
            env=dict(env),
            as_root=system.uid() == 0,
            cwd=cwd,
        )
        return system.run(rooted, timeout=timeout, env={}, on_output=on_output)
    return system.run(argv, timeout=timeout, cwd=cwd, env=env, on_output=on_output)


def shown_command(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The build command as a person can paste it (every word shell-quoted)."""
    return shlex.join([*(f"{k}={v}" for k, v in env.items()), *argv])


def _find_ko(system: System, module_dir: str) -> Optional[str]:
    candidates = sorted(
        (os.path.join(module_dir, n) for n in system.listdir(module_dir) if n.endswith(".ko")),
        key=lambda path: system.mtime(path) or 0.0,
        reverse=True,
    )
    return candidates[0] if candidates else None
