#!/usr/bin/env python3
"""The compatibility matrix: onboard kdoctor on minimal Debian 11, 12 and 13 roots.

For each row: a minimal Debian root (``debootstrap --variant=minbase`` plus python3, kept as a
pristine tarball in the cache and unpacked afresh every run), the repository's files copied to
``/opt/kdoctor-src``, then ``onboard.sh --rust distro`` run inside it with ``chroot``, as a user
of that release would: its own python3 and apt. kdoctor finds the running kernel unservable,
targets the release's stock kernel, installs the toolchain in one apt transaction, builds
hello-world and verifies it in qemu (TCG) booting that kernel. The row passes when the three
messages come back in order.

Writes ``scripts/matrix-results.json`` and the table in README.md between
``<!-- matrix:begin -->`` and ``<!-- matrix:end -->``. Run as root (needs debootstrap, mount,
chroot); rows run one after another.

    sudo scripts/matrix.py                     # every row
    sudo scripts/matrix.py bullseye trixie     # some rows
    sudo scripts/matrix.py --cache DIR --results FILE --no-readme

Caches (``--cache``, default /var/cache/kdoctor-matrix): ``<release>/root.tar`` (the pristine
root, made once) and ``<release>/archives`` (apt's downloaded packages, bind-mounted into each
root so a package is downloaded once across runs). Working roots live in ``work/<row>`` and are
replaced at the next run (``--keep`` leaves the last one unmounted but in place).
Python standard library only: the rows come from kdoctor's table of Debian releases
(``kdoctor/knowledge/debian_releases.py``, standard library too), read from this repository.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

REPO = Path(__file__).resolve().parent.parent


def _debian_releases() -> ModuleType:
    """kdoctor's table of Debian releases, from this repository (when kdoctor is already
    imported, from that kdoctor: the fast tests run against the installed one)."""
    sys.path.insert(0, str(REPO))
    try:
        return importlib.import_module("kdoctor.knowledge.debian_releases")
    finally:
        sys.path.remove(str(REPO))


debian = _debian_releases()
MIRROR = debian.MIRROR
SECURITY_MIRROR = debian.SECURITY
KEYRING = debian.KEYRING
DEFAULT_CACHE = "/var/cache/kdoctor-matrix"
MESSAGES = ("Hello kernel module!", "My message is on the heap", "Goodbye kernel module!")
SRC_IN_ROOT = "/opt/kdoctor-src"
HOST_CA = "/etc/kdoctor-matrix/host-ca.crt"
#: the chroot's environment: a root login shell's, nothing from this host
ROOT_ENV = {
    "HOME": "/root",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "USER": "root",
    "LOGNAME": "root",
}
README_BEGIN = "<!-- matrix:begin -->"
README_END = "<!-- matrix:end -->"
ONBOARD_TIMEOUT = 3600.0
FLOOR_TIMEOUT = 1200.0


@dataclass(frozen=True)
class Row:
    id: str
    release: str
    debian: str
    #: what the row is meant to exercise (the README's table shows what was found)
    expect: str
    env: dict[str, str] = field(default_factory=dict)
    #: run the fast test suite with the release's own python3 (the Python floor)
    floor: bool = False


def rows_of(releases: Sequence[Any]) -> tuple[Row, ...]:
    """A row for each release kdoctor supports, as its default installs it; where that is the
    ``-web`` Rust build, a row for the release's own rustc first. The oldest release also runs
    the fast test suite with its python3 (the Python floor)."""
    rows: list[Row] = []
    for release in releases:
        tools = release.toolchain
        expect = f"{release.series}, clang {tools.clang}, {{rust}}, bindgen {tools.bindgen}"
        plain = expect.format(rust=f"rustc {tools.rustc}")
        floor = release is releases[0]
        if release.web_rust_default:
            # kdoctor's default here is rustc-web: ask for the plain rustc packages instead
            env = {"KDOCTOR_DISTRO_RUST": "rustc"}
            rows.append(Row(release.suite, release.suite, release.name, plain, env, floor))
            web = expect.format(rust=f"rustc-web {tools.rustc_web}")
            rows.append(Row(f"{release.suite}-web", release.suite, release.name, web))
        else:
            rows.append(Row(release.suite, release.suite, release.name, plain, floor=floor))
    return tuple(rows)


ROWS = rows_of(debian.SUPPORTED)


def log(message: str) -> None:
    print(f"[matrix {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=True, text=True, **kwargs)


# -- the pristine root ---------------------------------------------------------------------------
def sources_list(release: str) -> str:
    """What the Debian installer writes: the release, its updates and its security suite."""
    return (
        f"deb {MIRROR} {release} main\n"
        f"deb {MIRROR} {release}-updates main\n"
        f"deb {SECURITY_MIRROR} {release}-security main\n"
    )


def ensure_pristine(cache: Path, release: str) -> tuple[Path, Optional[float]]:
    """``<cache>/<release>/root.tar``, made with debootstrap the first time (seconds it took)."""
    tarball = cache / release / "root.tar"
    if tarball.is_file():
        return tarball, None
    started = time.monotonic()
    staging = cache / release / "bootstrap.partial"
    remove_root(staging)  # what an interrupted debootstrap left
    staging.mkdir(parents=True)
    log(f"{release}: debootstrap --variant=minbase (once; kept as {tarball})")
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3",
                f"--keyring={KEYRING}",
                release,
                str(staging),
                MIRROR,
            ],
            stdout=subprocess.DEVNULL,
        )
    finally:
        # debootstrap mounts /proc and /sys inside while it installs; a failure or Ctrl-C
        # can leave them there
        end_processes(staging)
        unmount_all(staging)
    (staging / "etc/apt/sources.list").write_text(sources_list(release))
    # a fresh install: no package lists, no downloaded packages
    for directory in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for entry in (staging / directory).glob("*"):
            if entry.is_file():
                entry.unlink()
    partial = tarball.with_suffix(".tar.partial")
    run(["tar", "--numeric-owner", "-C", str(staging), "-cf", str(partial), "."])
    partial.replace(tarball)
    shutil.rmtree(staging)
    return tarball, time.monotonic() - started


def restore(tarball: Path, root: Path) -> float:
    """A fresh working root from the pristine tarball; seconds it took."""
    started = time.monotonic()
    remove_root(root)
    root.mkdir(parents=True)
    run(["tar", "--numeric-owner", "-xpf", str(tarball), "-C", str(root)])
    return time.monotonic() - started


def remove_root(root: Path) -> None:
    """Delete a root, never through a mount point (anything still mounted is unmounted first)."""
    if not root.exists():
        return
    unmount_all(root)
    if mounted_under(root):
        raise RuntimeError(f"{root} still has mounts under it: {mounted_under(root)}")
    shutil.rmtree(root)


def unmount_all(root: Path) -> None:
    """Unmount everything under ``root``, deepest first (lazily as the last resort)."""
    for lazy in (False, True):
        for path in sorted(mounted_under(root), reverse=True):
            subprocess.run(["umount", *(["-l"] if lazy else ["-R"]), path], check=False)
        if not mounted_under(root):
            return


# -- mounts and processes ------------------------------------------------------------------------
def mounted_under(root: Path) -> list[str]:
    prefix = str(root.resolve()).rstrip("/") + "/"
    found = []
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            target = line.split()[1].replace("\\040", " ")
            if target.startswith(prefix):
                found.append(target)
    return found


def processes_in(root: Path) -> list[int]:
    """Processes whose root directory is ``root`` (what this run started inside it)."""
    target = str(root.resolve())
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/root") == target:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def end_processes(root: Path) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = processes_in(root)
        if not pids:
            return
        log(f"ending {len(pids)} process(es) left in {root}: {pids}")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and processes_in(root):
            time.sleep(0.2)


@contextlib.contextmanager
def mounted(root: Path, archives: Path) -> Iterator[None]:
    """/proc, /sys, /dev (with /dev/pts and /dev/shm) and the shared apt archive cache, bound
    into ``root``; everything is unmounted again, whatever happens."""
    try:
        for target, argv in (
            ("proc", ["mount", "-t", "proc", "proc"]),
            ("sys", ["mount", "--rbind", "/sys"]),
            ("dev", ["mount", "--rbind", "/dev"]),
            ("var/cache/apt/archives", ["mount", "--bind", str(archives)]),
        ):
            path = root / target
            path.mkdir(parents=True, exist_ok=True)
            run([*argv, str(path)])
            if argv[1] == "--rbind":  # never let an unmount inside propagate to the host
                run(["mount", "--make-rslave", str(path)])
        yield
    finally:
        end_processes(root)
        unmount_all(root)
        if mounted_under(root):
            log(f"WARNING: still mounted under {root}: {mounted_under(root)}")


def copy_resolv_conf(root: Path) -> None:
    target = root / "etc/resolv.conf"
    if target.is_symlink() or target.exists():
        target.unlink()
    shutil.copyfile("/etc/resolv.conf", target)


def host_ca_bundle() -> Optional[str]:
    """The CA bundle this host's pip trusts (a proxy in front of PyPI may need its own CA)."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("REQUESTS_CA_BUNDLE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def network_env(root: Path) -> dict[str, str]:
    """What pip inside ``root`` needs to reach PyPI the way this host does: the host's CA
    bundle, copied in (the release's own ca-certificates may not know the host's CA)."""
    bundle = host_ca_bundle()
    if bundle is None:
        return {}
    target = root / HOST_CA.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle, target)
    return {"PIP_CERT": HOST_CA}


def export_source(root: Path, source: str) -> None:
    """The repository as a clean clone would have it, at ``/opt/kdoctor-src`` in ``root``:
    ``head`` is ``git archive HEAD``; ``worktree`` (default) is every file git tracks or would
    track (not ignored), as it is in the working tree now."""
    dest = root / SRC_IN_ROOT.lstrip("/")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if source == "head":
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "HEAD"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if not (src.is_file() or src.is_symlink()):
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), target)
        else:
            shutil.copy2(src, target)


def in_root(
    root: Path,
    argv: Sequence[str],
    *,
    env: Optional[dict[str, str]] = None,
    cwd: str = "/",
    timeout: float,
    log_path: Path,
) -> tuple[int, str, float]:
    """Run ``argv`` chrooted into ``root``; (exit status, stdout, seconds). stderr and stdout go
    to ``log_path`` too. A timeout or Ctrl-C ends the whole process group."""
    environment = {**ROOT_ENV, **(env or {})}
    assigns = [f"{k}={v}" for k, v in environment.items()]
    script = f"cd {cwd} && exec " + " ".join(_quote(a) for a in argv)
    command = ["chroot", str(root), "/usr/bin/env", "-i", *assigns, "/bin/sh", "-c", script]
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8") as logfile:
        logfile.write(f"\n$ {' '.join(_quote(a) for a in command)}\n")
        logfile.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=logfile,
            text=True,
            start_new_session=True,
            preexec_fn=_default_signals,
        )
        out_lines: list[str] = []
        timed_out = threading.Event()

        def kill_group() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        # a silent hang is cut short too: the watchdog does not wait for output
        watchdog = threading.Timer(timeout, kill_group)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                out_lines.append(line)
                logfile.write(line)
                logfile.flush()
            status = process.wait()
        except KeyboardInterrupt:
            kill_group()
            process.wait()
            raise
        finally:
            watchdog.cancel()
        if timed_out.is_set():
            logfile.write(f"\nmatrix: timed out after {timeout:g} s\n")
            status = 124
    return status, "".join(out_lines), time.monotonic() - started


def _default_signals() -> None:
    """Ctrl-C as a person's shell has it (a background job inherits SIGINT ignored, and a
    Python started that way never raises KeyboardInterrupt: the test suite checks it does)."""
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def _quote(word: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./=:,+@%-]+", word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


# -- reading the result ----------------------------------------------------------------------------
def json_object(text: str) -> Optional[dict[str, Any]]:
    """The last JSON object printed on its own lines in ``text`` (onboard.sh prints around it)."""
    decoder = json.JSONDecoder()
    found: Optional[dict[str, Any]] = None
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    index = 0
    while index < len(lines):
        if lines[index].startswith("{"):
            try:
                value, end = decoder.raw_decode(text, offsets[index])
            except ValueError:
                index += 1
                continue
            if isinstance(value, dict):
                found = value
            while index < len(lines) and offsets[index + 1] <= end:
                index += 1
            continue
        index += 1
    return found


def finding(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    """A check's finding in ``fix --json`` (``after``, else ``before``: whole check reports)."""
    report = data.get("after") or data.get("before") or {}
    for item in report.get("checks", []) if isinstance(report, dict) else report:
        if item.get("id") == check_id:
            return dict(item)
    return {}


def messages_in_order(found: Sequence[str]) -> bool:
    return tuple(found) == MESSAGES


def judge(data: Optional[dict[str, Any]], status: int) -> dict[str, Any]:
    """What one onboarding run says: versions, times and the verdict."""
    if data is None:
        return {"result": "fail", "reason": f"onboard.sh printed no kdoctor JSON (exit {status})"}
    clang = finding(data, "clang").get("facts", {})
    bindgen = finding(data, "bindgen").get("facts", {})
    toolchain = finding(data, "toolchain").get("facts", {})
    build = data.get("build") or {}
    verify = data.get("verify") or {}
    context = data.get("context") or {}
    row: dict[str, Any] = {
        "kernel": verify.get("kernel") or context.get("target_kernel"),
        "clang": clang.get("version"),
        "rustc": toolchain.get("version"),
        "rust_packages": toolchain.get("packages"),
        "bindgen": bindgen.get("version"),
        "build_s": build.get("duration_s"),
        "verify_s": (verify.get("timings") or {}).get("total_s"),
        "accel": verify.get("accel"),
        "found": verify.get("found"),
        "taint": verify.get("taint"),
        "exit_code": data.get("exit_code", status),
    }
    if status == 0 and verify.get("passed") and messages_in_order(verify.get("found") or ()):
        row.update(result="pass", reason=verify.get("summary"))
        return row
    reason = verify.get("summary") if verify else None
    if not reason and build and not build.get("ok"):
        tail = " | ".join((build.get("tail") or [])[-3:])
        reason = f"build failed: {tail}"
    if not reason and data.get("apply") and not data["apply"].get("ok", True):
        reason = "a fix step failed (see the log)"
    if not reason:
        after = (data.get("after") or {}).get("checks", [])
        failing = [f["id"] for f in after if f.get("status") in ("fail", "error")]
        reason = f"checks still fail: {', '.join(failing)}" if failing else f"exit {status}"
    row.update(result="fail", reason=reason)
    return row


# -- one row ---------------------------------------------------------------------------------------
def run_row(row: Row, args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache)
    started = time.monotonic()
    logs = cache / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{row.id}.log"
    log_path.write_text(f"matrix row {row.id} ({row.debian}, {row.release})\n")
    archives = cache / row.release / "archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    cold = not any(archives.glob("*.deb"))
    tarball, bootstrap_s = ensure_pristine(cache, row.release)
    root = cache / "work" / row.id
    log(f"{row.id}: fresh root from {tarball.name}")
    restore_s = restore(tarball, root)
    copy_resolv_conf(root)
    export_source(root, args.source)
    env = network_env(root)
    result: dict[str, Any] = {
        "row": row.id,
        "release": f"{row.debian} ({row.release})",
        "expect": row.expect,
        "cold": cold,
        "bootstrap_s": round(bootstrap_s, 1) if bootstrap_s is not None else None,
        "restore_s": round(restore_s, 1),
        "log": str(log_path),
    }
    with mounted(root, archives):
        log(f"{row.id}: onboard.sh --rust distro (log: {log_path})")
        status, stdout, onboard_s = in_root(
            root,
            [f"{SRC_IN_ROOT}/onboard.sh", "--rust", "distro", "--json"],
            env={**env, **row.env},
            timeout=args.timeout,
            log_path=log_path,
        )
        result.update(judge(json_object(stdout), status))
        result["onboard_s"] = round(onboard_s, 1)
        if row.floor and not args.no_floor:
            log(f"{row.id}: the fast test suite with the release's python3")
            result["python_floor"] = python_floor(root, log_path, env)
            if result["python_floor"]["result"] != "pass" and result["result"] == "pass":
                result.update(
                    result="fail", reason="python floor: " + result["python_floor"]["reason"]
                )
    if not args.keep:
        remove_root(root)
    result["total_s"] = round(time.monotonic() - started, 1)
    verdict = "PASS" if result["result"] == "pass" else "FAIL"
    log(f"{row.id}: {verdict} in {result['total_s']:.0f} s: {result.get('reason')}")
    return result


def python_floor(root: Path, log_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """The fast tests under the release's python3, with kdoctor and its test extras installed
    from the repository the way pip resolves them there."""
    venv = "/opt/kdoctor-floor"
    steps = [
        ["python3", "-m", "venv", venv],
        [f"{venv}/bin/python", "-m", "pip", "install", "-q", f"{SRC_IN_ROOT}[test]"],
    ]
    started = time.monotonic()
    version = ""
    for argv in steps:
        status, _, _ = in_root(root, argv, env=env, timeout=FLOOR_TIMEOUT, log_path=log_path)
        if status != 0:
            return {"result": "fail", "reason": f"{' '.join(argv[:4])} exited {status}"}
    _, version, _ = in_root(
        root, [f"{venv}/bin/python", "--version"], timeout=60, log_path=log_path
    )
    # --import-mode=append: the installed kdoctor (not the source tree) is what gets tested
    status, out, _ = in_root(
        root,
        [
            f"{venv}/bin/pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--import-mode=append",
            "-m",
            "not e2e and not matrix and not integration",
            f"{SRC_IN_ROOT}/tests",
        ],
        cwd="/tmp",  # not the source tree: `python -m kdoctor` must find the installed one
        env=env,
        timeout=FLOOR_TIMEOUT,
        log_path=log_path,
    )
    summary = next(
        (
            line.strip()
            for line in reversed(out.splitlines())
            if re.search(r"\d+ (passed|failed)", line)
        ),
        f"pytest exited {status}",
    )
    return {
        "result": "pass" if status == 0 else "fail",
        "python": version.strip(),
        "reason": summary,
        "seconds": round(time.monotonic() - started, 1),
    }


# -- output ----------------------------------------------------------------------------------------
def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def table(results: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "| row | release | kernel | clang | rustc | bindgen | result | build | verify | total |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        rust = r.get("rustc") or "-"
        packages = r.get("rust_packages") or []
        if packages:
            rust = f"{rust} ({', '.join(packages)})"
        result = "✔ pass" if r["result"] == "pass" else f"✘ {r['result']}"
        lines.append(
            f"| `{r['row']}` | {r['release']} | {r.get('kernel') or '-'} | {r.get('clang') or '-'} "
            f"| {rust} | {r.get('bindgen') or '-'} | {result} | {_seconds(r.get('build_s'))} "
            f"| {_seconds(r.get('verify_s'))} | {_seconds(r.get('total_s'))} |"
        )
    floor = [r["python_floor"] for r in results if r.get("python_floor")]
    notes = [
        f"Measured {meta['date']} by `scripts/matrix.py` ({meta['run']} caches, "
        f"{meta['cores']} cores, host kernel {meta['host_kernel']}, VM: qemu "
        f"{', '.join(sorted({str(r.get('accel')) for r in results if r.get('accel')})) or '-'}); "
        f"whole matrix {_seconds(meta['total_s'])}.",
    ]
    for f in floor:
        notes.append(
            f"Python floor ({f.get('python') or 'python3'}): fast test suite {f['reason']}."
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


SECTION = """## Compatibility

`sudo scripts/matrix.py` onboards kdoctor (`onboard.sh --rust distro`) on minimal Debian roots
(`debootstrap --variant=minbase` plus python3) in a chroot: kdoctor targets the release's stock
kernel, installs the toolchain, builds hello-world and verifies it in a VM booting that kernel.
Results in `scripts/matrix-results.json`.

"""


def update_readme(readme: Path, text: str) -> None:
    content = readme.read_text(encoding="utf-8")
    block = f"{README_BEGIN}\n{text}{README_END}"
    if README_BEGIN in content and README_END in content:
        head, rest = content.split(README_BEGIN, 1)
        _, tail = rest.split(README_END, 1)
        content = head + block + tail
    else:
        content = content.rstrip("\n") + "\n\n" + SECTION + block + "\n"
    readme.write_text(content, encoding="utf-8")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "rows", nargs="*", help=f"rows to run (default: all of {', '.join(r.id for r in ROWS)})"
    )
    parser.add_argument(
        "--cache", default=DEFAULT_CACHE, help=f"cache directory (default {DEFAULT_CACHE})"
    )
    parser.add_argument("--results", default=str(REPO / "scripts" / "matrix-results.json"))
    parser.add_argument("--readme", default=str(REPO / "README.md"))
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README.md's table")
    parser.add_argument("--no-floor", action="store_true", help="skip the Python-floor test run")
    parser.add_argument(
        "--source",
        choices=("worktree", "head"),
        default="worktree",
        help="what to copy into the roots: files git tracks or would track (default), or HEAD",
    )
    parser.add_argument(
        "--timeout", type=float, default=ONBOARD_TIMEOUT, help="seconds per onboarding"
    )
    parser.add_argument("--keep", action="store_true", help="keep the working roots afterwards")
    parser.add_argument(
        "--bootstrap-only", action="store_true", help="only make the pristine roots"
    )
    args = parser.parse_args(argv)
    known = {r.id for r in ROWS}
    unknown = [r for r in args.rows if r not in known]
    if unknown:
        parser.error(f"unknown row(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return args


def preflight() -> Optional[str]:
    if os.geteuid() != 0:
        return "run as root (debootstrap, mount and chroot need it)"
    missing = [
        t for t in ("debootstrap", "chroot", "mount", "umount", "tar") if not shutil.which(t)
    ]
    if missing:
        return f"missing: {', '.join(missing)} (apt-get install debootstrap)"
    if not os.path.isfile(KEYRING):
        return f"no {KEYRING} (apt-get install debian-archive-keyring)"
    return None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return run_matrix(parse_args(argv))
    except KeyboardInterrupt:
        log("interrupted: the roots were unmounted and their processes ended")
        return 130


def run_matrix(args: argparse.Namespace) -> int:
    problem = preflight()
    if problem:
        print(f"matrix: {problem}", file=sys.stderr)
        return 2
    rows = [r for r in ROWS if not args.rows or r.id in args.rows]
    # a SIGTERM unwinds like Ctrl-C, so every mount is undone
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    cache = Path(args.cache)
    if args.bootstrap_only:
        for release in dict.fromkeys(r.release for r in rows):
            tarball, seconds = ensure_pristine(cache, release)
            log(f"{release}: {tarball}" + (f" made in {seconds:.0f} s" if seconds else " (cached)"))
        return 0
    cold = any(not (cache / r.release / "root.tar").is_file() for r in rows)
    results = []
    for row in rows:
        try:
            results.append(run_row(row, args))
        except subprocess.CalledProcessError as exc:
            log(f"{row.id}: setup failed: {exc}")
            results.append(
                {
                    "row": row.id,
                    "release": f"{row.debian} ({row.release})",
                    "result": "error",
                    "reason": f"setup failed: {exc}",
                }
            )
    total = time.monotonic() - started
    meta = {
        "date": datetime.date.today().isoformat(),
        "run": "cold" if cold or any(r.get("cold") for r in results) else "warm",
        "cores": os.cpu_count(),
        "host_kernel": os.uname().release,
        "total_s": round(total, 1),
    }
    Path(args.results).write_text(
        json.dumps({**meta, "rows": results}, indent=2) + "\n", encoding="utf-8"
    )
    if not args.no_readme and len(rows) == len(ROWS):
        update_readme(Path(args.readme), table(results, meta))
    failed = [r["row"] for r in results if r["result"] != "pass"]
    log(
        f"matrix: {len(results) - len(failed)}/{len(results)} passed in {total / 60:.1f} min"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
