"""One registry shape for checks and fixes: classes register by id, instances come in order."""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar, Generic, Protocol, TypeVar


class Registered(Protocol):
    id: ClassVar[str]
    order: ClassVar[int]


T = TypeVar("T", bound=Registered)


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._classes: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        if cls.id in self._classes and self._classes[cls.id] is not cls:
            raise ValueError(f"duplicate {self.kind} id {cls.id!r}")
        self._classes[cls.id] = cls
        return cls

    def instances(self) -> list[T]:
        """One of each, ordered by (order, id), after importing every module of the package."""
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
        return [cls() for cls in sorted(self._classes.values(), key=lambda c: (c.order, c.id))]
