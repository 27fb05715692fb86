"""One registry shape for checks and fixes: classes register by id, instances come in order.

Planners stand in the order of their ``order`` (ties by id): :class:`Registry`. Checks stand in
the order of one tuple of their ids, the report's (``kdoctor.checks.REPORT_ORDER``):
:class:`Listed`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar


class Identified(Protocol):
    id: ClassVar[str]


class Registered(Identified, Protocol):
    order: ClassVar[int]


C = TypeVar("C", bound=Identified)
T = TypeVar("T", bound=Registered)


class _Classes(Generic[C]):
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._classes: dict[str, type[C]] = {}

    def register(self, cls: type[C]) -> type[C]:
        if cls.id in self._classes and self._classes[cls.id] is not cls:
            raise ValueError(f"duplicate {self.kind} id {cls.id!r}")
        self._classes[cls.id] = cls
        return cls

    def classes(self) -> dict[str, type[C]]:
        """Every registered class by id, after importing every module of the package."""
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
        return dict(self._classes)


class Registry(_Classes[T]):
    def instances(self) -> list[T]:
        """One of each, ordered by (order, id)."""
        return [cls() for cls in sorted(self.classes().values(), key=lambda c: (c.order, c.id))]


class Listed(_Classes[C]):
    """A registry whose order is a tuple of ids, which names every registered id once."""

    def __init__(self, kind: str, package: str, ids: Sequence[str]) -> None:
        super().__init__(kind, package)
        self.ids = tuple(ids)

    def instances(self) -> list[C]:
        """One of each, in the order of ``ids``."""
        classes = self.classes()
        unlisted = sorted(set(classes) - set(self.ids))
        if unlisted:
            raise LookupError(f"{self.kind} ids not in the order: {', '.join(unlisted)}")
        return [classes[i]() for i in self.ids if i in classes]
