"""Running a command inside a toolchain root: the command line that does it, nothing more (pure:
whoever runs it runs it through the System).

The command runs in new mount and PID namespaces (``unshare``; as a person other than root, in a
user namespace mapping them to root there, so no privilege is used), with ``/proc`` mounted,
``/dev`` bound, and each directory it must see (the kernel tree, the module) bound at the same
path it has outside, so paths in logs, ``.cmd`` files and ``M=`` mean the same on both sides.
The mounts live only as long as the command: nothing is left mounted, whatever kills it
(``--kill-child``). Its environment is only what is asked (``env -i``): the host's variables
name host tools the root does not have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: the shell program that binds the directories and enters the root; its arguments are
#: ``root``, the number of directories, the directories, then the command (never interpolated)
_ENTER = (
    'set -e; root=$1; n=$2; shift 2; while [ "$n" -gt 0 ]; do '
    'mkdir -p "$root$1"; mount --bind "$1" "$root$1"; shift; n=$((n - 1)); done; '
    'mount -t proc proc "$root/proc"; mount --rbind /dev "$root/dev"; '
    'exec chroot "$root" "$@"'
)

#: what every command in a root gets: the root's own tools first, a locale that needs nothing
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    "HOME": "/root",
    "LC_ALL": "C.UTF-8",
}


def in_root(
    root: str,
    argv: Sequence[str],
    *,
    binds: Sequence[str] = (),
    env: Mapping[str, str] = {},
    as_root: bool = True,
    cwd: str = "/",
) -> list[str]:
    """The command line running ``argv`` in ``root`` with ``binds`` visible at their own
    paths, in directory ``cwd`` (inside), with :data:`BASE_ENV` and ``env`` only."""
    user = [] if as_root else ["--map-root-user"]
    variables = [f"{k}={v}" for k, v in {**BASE_ENV, **env}.items()]
    binds = list(dict.fromkeys(b.rstrip("/") or "/" for b in binds))
    return [
        "unshare",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        *user,
        "--",
        "sh",
        "-c",
        _ENTER,
        "kdoctor-root",
        root,
        str(len(binds)),
        *binds,
        "env",
        "-i",
        "-C",
        cwd,
        *variables,
        *argv,
    ]
