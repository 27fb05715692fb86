"""When a variable kdoctor reads (``KDIR``, ``CC``, ``CLANG``, ``LLVM``, ``RUSTC``) is itself the
cause, the remedy is to correct it where it was set, said the same way by ``check`` and by
``fix --dry-run``:

* the person's environment: kdoctor never changes it, so the need is :class:`ByHand` (the plan
  shows the same remedy as a note) and the remedy says to unset or correct it;
* kdoctor's settings file: kdoctor's own choice, which ``kdoctor fix`` corrects (a
  :class:`Setting`: a new value, or None to remove it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from kdoctor.facts import Facts
from kdoctor.i18n import _
from kdoctor.model.choice import TargetSource
from kdoctor.model.need import ByHand, Need, Setting

ENVIRONMENT = "environment"
SETTINGS = "settings"


def value_of(facts: Facts, name: str) -> Optional[str]:
    """The value of ``name`` kdoctor uses (``KDIR``: only when it chose the target)."""
    if name == "KDIR":
        return facts.ctx.kdir if facts.ctx.target_source == TargetSource.KDIR else None
    return facts.ctx.env.get(name) or None


def origin(facts: Facts, name: str) -> Optional[str]:
    """Where ``name``'s value came from: ``environment``, ``settings`` (kdoctor's settings
    file), or None when it is not set."""
    value = value_of(facts, name)
    if value is None:
        return None
    return ENVIRONMENT if facts.system.env.get(name) == value else SETTINGS


def origin_words(facts: Facts, name: str) -> str:
    """``from the environment`` / ``from kdoctor's settings file PATH``."""
    if origin(facts, name) == ENVIRONMENT:
        return _("from the environment")
    return _("from kdoctor's settings file {path}").format(path=facts.ctx.settings_file)


@dataclass(frozen=True)
class Correction:
    """What to say and what to plan when ``name``'s value is the cause."""

    text: str
    needs: tuple[Need, ...]


def correction(
    facts: Facts,
    check: str,
    name: str,
    replacement: Optional[str],
    *,
    then: str = "",
    otherwise: str = "",
) -> Correction:
    """The remedy for ``name`` (set in the environment or kdoctor's settings file): unset it,
    or set it to ``replacement`` (None: only unset it, or do ``otherwise``, a phrase such as
    ``point it at a working rustc``). ``then`` says what the build uses once it is unset
    (``kbuild then uses the kernel's compiler``)."""
    value = value_of(facts, name) or ""
    after = f" ({then})" if then else ""
    if origin(facts, name) == ENVIRONMENT:
        if replacement:
            text = _(
                "{setting} comes from your environment: unset it (`unset {name}`){after}, or set "
                "{name}={replacement}."
            )
        elif otherwise:
            text = _(
                "{setting} comes from your environment: unset it (`unset {name}`){after}, or "
                "{otherwise}."
            )
        else:
            text = _("{setting} comes from your environment: unset it (`unset {name}`){after}.")
        text = text.format(
            setting=f"{name}={value}",
            name=name,
            replacement=replacement,
            after=after,
            otherwise=otherwise,
        )
        why = _("{name} is set in your environment, which kdoctor does not change").format(
            name=name
        )
        return Correction(text, (ByHand(check, why, text),))
    path = facts.ctx.settings_file
    text = (
        _(
            "{setting} comes from kdoctor's settings file {path}: kdoctor fix sets "
            "{name}={replacement} there."
        )
        if replacement
        else _(
            "{setting} comes from kdoctor's settings file {path}: kdoctor fix removes it "
            "from there{after}."
        )
    ).format(setting=f"{name}={value}", name=name, replacement=replacement, path=path, after=after)
    return Correction(text, (Setting(name, replacement),))
