"""The fact layer: named facts about this machine and the target, computed once per invocation.

A fact is a plain typed function of :class:`Facts`::

    def chosen_clang(facts: Facts) -> ClangChoice: ...

and is read with ``facts.of(chosen_clang)``. Checks, fixes, build and verify share one
:class:`Facts` per invocation, so each fact is computed at most once, however many threads ask
for it at the same time (they wait for the first asker's answer; an exception reaches all).

The modules of this package are named for what they know: ``clang``, ``libclang``, ``rust``
(``rustup`` + ``rust_toolchain``), ``kernel`` (the target's build directory, configuration and
release), ``kbuild`` (the module's Kbuild), ``images`` (kernel images and busybox for the VM),
``packages`` (what the package manager can install), ``privileges``, ``loading``, ``tools``.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from kdoctor.machine.system import System
    from kdoctor.model.context import Context

T = TypeVar("T")
Fact = Callable[["Facts"], T]


class FactCycle(RuntimeError):
    """A fact asked, directly or through others, for itself."""


class Facts:
    """The context and the system of one invocation, and every fact computed from them."""

    def __init__(self, ctx: Context, system: System) -> None:
        self.ctx = ctx
        self.system = system
        self._lock = threading.Lock()
        self._futures: dict[Callable[..., Any], Future[Any]] = {}
        self._owners: dict[Callable[..., Any], int] = {}

    def of(self, fact: Fact[T]) -> T:
        """``fact(self)``, computed at most once; concurrent askers share the computation."""
        me = threading.get_ident()
        with self._lock:
            future = self._futures.get(fact)
            owner = future is None
            if future is None:
                future = Future()
                self._futures[fact] = future
                self._owners[fact] = me
            elif self._owners.get(fact) == me and not future.done():
                raise FactCycle(f"the fact {_name(fact)} depends on itself")
        if not owner:
            result: T = future.result()
            return result
        try:
            value = fact(self)
        except BaseException as exc:  # every asker, now and later, sees the same failure
            future.set_exception(exc)
            raise
        future.set_result(value)
        return value

    def known(self, fact: Fact[Any]) -> bool:
        """Whether ``fact`` has been computed (or is being computed) in this invocation."""
        with self._lock:
            return fact in self._futures


def _name(fact: Callable[..., Any]) -> str:
    return f"{getattr(fact, '__module__', '?')}.{getattr(fact, '__qualname__', repr(fact))}"
