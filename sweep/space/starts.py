"""Configs to try first: a space's ``starts:`` and the best trials of an earlier study.

A start is a partial config in the space file's own names (``units: [256, 128]``,
``learning_rate: 0.001``); what it leaves out is drawn as usual. ``engine_values`` turns it into the
names the engines draw (``units_0``, ``learning_rate_adam``), which Optuna's ``enqueue_trial`` takes,
and refuses, in one line, a value the space could never draw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweep.space.vocabulary import REFERENCE_CONFIG, Param, SpaceError


def check_starts(starts: Any, path: Path, params: dict[str, Param]) -> tuple[dict[str, Any], ...]:
    """The ``starts:`` list of a space file, each start checked against the space's parameters."""
    if starts is None:
        return ()
    if not isinstance(starts, list) or not all(isinstance(start, dict) and start for start in starts):
        raise SpaceError(f"{path}: 'starts' must be a list of configs, each a mapping of parameter to value")
    for index, start in enumerate(starts):
        engine_values(start, params, f"{path}: starts[{index}]")
    return tuple(starts)


def engine_values(start: dict[str, Any], params: dict[str, Param], where: str) -> dict[str, Any]:
    """The values ``start`` fixes, under the engines' names; SpaceError if one is not in the space."""
    names = {param.name for param in params.values()}
    for name in start:
        if name not in names:
            raise SpaceError(f"{where}: {name!r} is not a parameter of this space; expected some of {sorted(names)}")
    known = {param.name: param.value for param in params.values() if param.fixed} | start
    fixed: dict[str, Any] = {}
    for name in start:
        param = _applying(name, params, known, where)
        if param.fixed:
            if start[name] != param.value:
                raise SpaceError(f"{where}: {name!r} is fixed at {param.value!r} in this space, got {start[name]!r}")
            continue
        fixed |= _values_of(param, start[name], known, where)
    return fixed


def _applying(name: str, params: dict[str, Param], known: dict[str, Any], where: str) -> Param:
    """The parameter (or the alternative, under its ``when``) that ``name`` means for this start."""
    candidates = [param for param in params.values() if param.name == name]
    for param in candidates:
        if all(known.get(parent) in allowed for parent, allowed in param.when):
            return param
    parents = sorted({parent for param in candidates for parent, _ in param.when})
    raise SpaceError(f"{where}: {name!r} does not apply to this start; give {' and '.join(parents)} as its 'when' asks")


def _values_of(param: Param, value: Any, known: dict[str, Any], where: str) -> dict[str, Any]:
    if not param.per_layer:
        _check_inside(param, value, where)
        return {param.label: value}
    layers = known.get("hidden_layers", REFERENCE_CONFIG["hidden_layers"])
    values = value if isinstance(value, list) else [value] * layers
    if "hidden_layers" not in known or len(values) != layers:
        raise SpaceError(f"{where}: {param.name!r} needs one value per hidden layer, and hidden_layers with it")
    for item in values:
        _check_inside(param, item, where)
    return {f"{param.label}_{index}": item for index, item in enumerate(values)}


def _check_inside(param: Param, value: Any, where: str) -> None:
    if not param.admits(value):
        shown = list(param.choices) if param.choices else f"[{param.low}, {param.high}]"
        raise SpaceError(f"{where}: {param.name} {value!r} is outside the space, which draws from {shown}")
