"""Lazy public names for a sub-package (PEP 562), as Optuna keeps its optional heavy parts.

Each sub-package's ``__init__`` names what the others may use in one ``EXPORTS`` table (name -> module).
A name's module is imported on first use only, so ``from sweep.space import load_space`` never loads
the training code, and ``sweep table`` starts without TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def exports(package: str, table: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, resolving each name of ``table`` from its module
    (relative to ``package``, or a full ``sweep.`` path)."""

    def __getattr__(name: str) -> object:  # noqa: N807 (the module hook's name)
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = table[name] if table[name].startswith("sweep.") else f"{package}.{table[name]}"
        found = importlib.import_module(module)
        return getattr(found, name) if hasattr(found, name) else importlib.import_module(f"{module}.{name}")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(table)

    return __getattr__, __dir__
