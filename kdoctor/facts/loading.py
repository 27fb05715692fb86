"""Can this host load the module at all, and what does an insmod error mean?

How the running kernel answers ``init_module``/``finit_module`` (kernel/module/, 5.4+):

* no ``CONFIG_MODULES``: the syscalls do not exist -> ENOSYS, "Function not implemented";
* ``kernel.modules_disabled=1`` or no ``CAP_SYS_MODULE``: EPERM, "Operation not permitted";
* unsigned module (or unknown key) with ``sig_enforce``/``CONFIG_MODULE_SIG_FORCE``:
  EKEYREJECTED, "Key was rejected by service" (before 5.4: ENOKEY, "Required key not
  available");
* unsigned module under lockdown without enforcement: ``security_locked_down()`` -> EPERM,
  "Operation not permitted" (dmesg: "Lockdown: insmod: unsigned module loading is restricted");
* a module built for another kernel: ENOEXEC, "Invalid module format" (vermagic or
  ``module_layout`` CRC mismatch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from packaging.version import Version

from kdoctor.facts.tools import kernel_config
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.kernel_config import parse_config
from kdoctor.machine.system import System
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

PROC_MODULES = "/proc/modules"
MODULES_DISABLED = "/proc/sys/kernel/modules_disabled"
LOCKDOWN = "/sys/kernel/security/lockdown"
SIG_ENFORCE = "/sys/module/module/parameters/sig_enforce"
EFI_DIR = "/sys/firmware/efi"
SECURE_BOOT_VAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

ENOSYS = "Function not implemented"
EPERM = "Operation not permitted"
EKEYREJECTED = "Key was rejected by service"
ENOKEY = "Required key not available"
ENOEXEC = "Invalid module format"

#: kernels before this returned ENOKEY for an unsigned module under enforcement
_EKEYREJECTED_SINCE = Version("5.4")


@dataclass(frozen=True)
class HostLoading:
    """Whether ``insmod`` of the module built for the target can succeed on this host."""

    possible: bool
    #: what stops loading here (empty when possible)
    reasons: tuple[str, ...]
    #: what makes loading here need care even though it can work (root, ...)
    risks: tuple[str, ...]
    #: the insmod messages the reasons and risks produce, in the same order
    insmod_errors: tuple[str, ...]
    module_support: bool
    modules_disabled: Optional[bool]
    lockdown: Optional[str]
    secure_boot: Optional[bool]
    sig_enforce: Optional[bool]
    running_kernel: str
    target_kernel: str

    def to_facts(self) -> dict[str, Any]:
        return {
            "possible": self.possible,
            "reasons": list(self.reasons),
            "risks": list(self.risks),
            "insmod_errors": list(self.insmod_errors),
            "module_support": self.module_support,
            "modules_disabled": self.modules_disabled,
            "lockdown": self.lockdown,
            "secure_boot": self.secure_boot,
            "sig_enforce": self.sig_enforce,
            "running_kernel": self.running_kernel,
            "target_kernel": self.target_kernel,
        }


def host_loading(ctx: Context, system: System) -> HostLoading:
    running, target = ctx.running_kernel, ctx.target_kernel
    reasons: list[str] = []
    risks: list[str] = []
    errors: list[str] = []

    def block(reason: str, error: str) -> None:
        reasons.append(reason)
        if error not in errors:
            errors.append(error)

    support = system.exists(PROC_MODULES)
    if not support:
        block(
            _(
                "the running kernel {release} has no loadable module support (CONFIG_MODULES=n)"
            ).format(release=running),
            ENOSYS,
        )
    disabled = _flag(system.read_text(MODULES_DISABLED), "1", "0")
    if disabled:
        block(_("module loading is switched off until reboot (kernel.modules_disabled=1)"), EPERM)
    lockdown = lockdown_mode(system)
    secure_boot = secure_boot_state(system)
    enforce = signatures_enforced(ctx, system)
    rejected = ENOKEY if _older_than(running, _EKEYREJECTED_SINCE) else EKEYREJECTED
    if support and enforce:
        block(
            _(
                "the kernel only accepts signed modules (module.sig_enforce / "
                "CONFIG_MODULE_SIG_FORCE) and the module is built unsigned"
            ),
            rejected,
        )
    elif support and lockdown in ("integrity", "confidentiality"):
        block(_("kernel lockdown ({mode}) refuses unsigned modules").format(mode=lockdown), EPERM)
    elif support and secure_boot and lockdown is None and enforce is None:
        block(
            _("Secure Boot is on, and distribution kernels then refuse unsigned modules"),
            rejected,
        )
    if target != running:
        block(
            _(
                "the module is built for {target}, but {running} is running "
                "(its version magic will not match)"
            ).format(target=target, running=running),
            ENOEXEC,
        )
    if not reasons and not ctx.is_root:
        risks.append(_("insmod needs root (CAP_SYS_MODULE): run it with sudo"))
        errors.append(EPERM)
    return HostLoading(
        possible=not reasons,
        reasons=tuple(reasons),
        risks=tuple(risks),
        insmod_errors=tuple(errors),
        module_support=support,
        modules_disabled=disabled,
        lockdown=lockdown,
        secure_boot=secure_boot,
        sig_enforce=enforce,
        running_kernel=running,
        target_kernel=target,
    )


def module_loading(facts: Facts) -> HostLoading:
    """Whether this host can load the module built for the target (read by several checks)."""
    return host_loading(facts.ctx, facts.system)


def lockdown_mode(system: System) -> Optional[str]:
    """The selected word of ``none [integrity] confidentiality`` (None: no lockdown LSM)."""
    text = system.read_text(LOCKDOWN)
    if not text:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return None


def secure_boot_state(system: System) -> Optional[bool]:
    """Secure Boot from the EFI variable (5th byte: 1 = on), else ``mokutil --sb-state``."""
    if not system.exists(EFI_DIR):
        return False  # booted without UEFI: there is no Secure Boot
    raw = system.read_text(SECURE_BOOT_VAR)
    if raw and len(raw) >= 5:  # 4 bytes of attributes, then the value
        return raw[4] == "\x01"
    if system.which("mokutil") is None:
        return None
    probe = system.probe(["mokutil", "--sb-state"])
    out = probe.output.lower()
    if "secureboot enabled" in out:
        return True
    if "secureboot disabled" in out or "doesn't support secure boot" in out:
        return False
    return None


def signatures_enforced(ctx: Context, system: System) -> Optional[bool]:
    """``sig_enforce`` of the running kernel, else its CONFIG_MODULE_SIG_FORCE (None: unknown)."""
    live = _flag(system.read_text(SIG_ENFORCE), "Y", "N")
    if live is not None:
        return live
    text = system.read_text(f"/boot/config-{ctx.running_kernel}")
    if text is not None:
        return parse_config(text).get("CONFIG_MODULE_SIG_FORCE") == "y"
    if ctx.target_kernel == ctx.running_kernel:
        config = kernel_config(system, ctx.kdir)
        if config:
            return config.get("CONFIG_MODULE_SIG_FORCE") == "y"
    return None


def _flag(text: Optional[str], yes: str, no: str) -> Optional[bool]:
    value = (text or "").strip()
    return True if value == yes else False if value == no else None


def _older_than(release: str, version: Version) -> bool:
    parsed = versions.parse(release)
    return parsed is not None and parsed < version


# -- what an insmod failure means -------------------------------------------------------

VM_REMEDY = N_("Test the module in a VM that boots the target kernel: kdoctor verify --vm")

#: what insmod prints for an error (the kernel's errno text, in English: tools speak English to
#: kdoctor) -> (its cause, what to do), the sentences marked and translated when explained
EEXIST = "File exists"
_EXPLANATIONS: tuple[tuple[str, str, str], ...] = (
    (
        ENOSYS,
        N_("the running kernel has no loadable module support (CONFIG_MODULES=n)"),
        VM_REMEDY,
    ),
    (
        EKEYREJECTED,
        N_(
            "the kernel enforces module signatures (sig_enforce, CONFIG_MODULE_SIG_FORCE or "
            "Secure Boot) and the module is unsigned or signed with a key it does not trust"
        ),
        N_(
            "Sign the module with a key the kernel trusts (enroll one with mokutil --import, "
            "sign with <KDIR>/scripts/sign-file), or: kdoctor verify --vm"
        ),
    ),
    (
        ENOKEY,
        N_(
            "the kernel requires a module signature from a key in its keyring and the module "
            "has none (or an unknown key)"
        ),
        N_(
            "Sign the module with an enrolled key (mokutil --import, <KDIR>/scripts/sign-file), "
            "or: kdoctor verify --vm"
        ),
    ),
    (
        EPERM,
        N_(
            "insmod ran without root, module loading is disabled (kernel.modules_disabled=1), "
            "or kernel lockdown refuses unsigned modules (see dmesg)"
        ),
        N_(
            "Run insmod as root; if /proc/sys/kernel/modules_disabled is 1 or dmesg mentions "
            "Lockdown, loading needs a reboot or a signed module; or: kdoctor verify --vm"
        ),
    ),
    (
        ENOEXEC,
        N_(
            "the module was built for a different kernel (version magic or symbol CRCs do not "
            "match the running one; dmesg names the mismatch)"
        ),
        N_(
            "Build against the running kernel's headers (kdoctor check --kernel $(uname -r)), "
            "or boot the target kernel: kdoctor verify --vm"
        ),
    ),
    (
        "Unknown symbol in module",
        N_("the module uses symbols the running kernel does not export (dmesg lists them)"),
        N_("Build against the running kernel's headers, or load the modules it depends on first"),
    ),
    (
        EEXIST,
        N_("a module with the same name is already loaded"),
        N_("Unload it first: rmmod <name>"),
    ),
    (
        "Invalid parameters",
        N_("the kernel rejected the module's parameters or its ELF layout (see dmesg)"),
        N_("Check dmesg for the kernel's reason"),
    ),
    (
        "Cannot allocate memory",
        N_("the kernel could not allocate memory for the module"),
        N_("Free memory or try again; check dmesg"),
    ),
    (
        "No such file or directory",
        N_("the .ko file given to insmod does not exist"),
        N_("Build the module first (kdoctor build) and pass the path of the .ko"),
    ),
    (
        "Permission denied",
        N_("a security module (SELinux, AppArmor, LoadPin) or a noexec mount refused the file"),
        N_("Check dmesg and the audit log for the denial"),
    ),
)


def insmod_error_kind(stderr: str) -> Optional[str]:
    """The error insmod printed, as the kernel words it (``EEXIST``, ``ENOEXEC``, ...), when
    kdoctor knows it; None when it does not (then the cause is only what insmod said). The same
    in every language, for code to compare."""
    return next((n for n, _c, _r in _EXPLANATIONS if n.lower() in stderr.lower()), None)


def explain_insmod_error(stderr: str) -> tuple[str, str]:
    """(cause, remedy) for what insmod printed, in the person's language."""
    for needle, cause, remedy in _EXPLANATIONS:
        if needle.lower() in stderr.lower():
            return _(cause), _(remedy)
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    said = lines[-1] if lines else _("no message")
    return (
        _("insmod failed: {error}").format(error=said),
        _("Check dmesg | tail for the kernel's reason"),
    )
