"""Validation of a parsed space document (its name, description and parameters) and of a trial config file.

It reads the shared words from :mod:`sweep.space.vocabulary` and never imports :mod:`sweep.space.spec`, which
builds the ``SearchSpace`` from what ``check_space`` returns.

Checks at the boundary, scikit-learn style: each fault raises one SpaceError line
naming the file, the parameter and what was expected; inside, the code trusts it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sweep.space.vocabulary import (
    ACTIVATIONS,
    INTEGER_PARAMS,
    LIMITS,
    LIST_KEYS,
    MAX_POOLED_LAYERS,
    NAMED_CHOICES,
    OPTIMIZER_KNOBS,
    PER_LAYER,
    REFERENCE_CONFIG,
    RETRAINING_KEYS,
    SPEC_KEYS,
    TOP_KEYS,
    TYPES,
    VOCABULARY,
    Param,
    SpaceError,
)


def check_space(document: Any, path: Path, own: bool = False) -> tuple[str, str, dict[str, Param], str | None]:
    """A parsed space document's name, description, parameters (parents first) and the builder it names
    (``model: module:function``), or one SpaceError.

    ``own``: a builder of the user's own trains these trials (given, or named in the file), so parameters
    beyond the notes' vocabulary are the builder's own and are checked by their type alone.
    """
    if not isinstance(document, dict):
        raise SpaceError(f"{path}: expected a mapping with name, description and params")
    unknown = set(document) - TOP_KEYS
    if unknown:
        raise SpaceError(f"{path}: unknown top-level key {sorted(unknown)[0]!r}; expected {sorted(TOP_KEYS)}")
    model = document.get("model")
    if model is not None and (not isinstance(model, str) or ":" not in model):
        raise SpaceError(f"{path}: 'model' must name a builder as module:function, got {model!r}")
    own = own or model is not None
    raw_params = document.get("params")
    if not isinstance(raw_params, dict) or not raw_params:
        raise SpaceError(f"{path}: 'params' must be a non-empty mapping of parameter name to spec")
    params = {param.label: param for name, spec in raw_params.items() for param in _params(path, name, spec, own)}
    for param in params.values():
        _check_when(path, param, params)
    if not own:
        _check_conv_geometry(path, params)
    name = str(document.get("name") or path.stem)
    return name, str(document.get("description") or ""), _dependency_order(path, params), model


def check_config(config: dict, path: Path) -> None:
    """A trial config from a file (``sweep train``) meets the checks a space's values meet, and its
    per-layer lists have one value per hidden layer; raise one SpaceError line otherwise."""
    for name, value in config.items():
        where = f"{path}: parameter {name!r}"
        if name not in VOCABULARY + RETRAINING_KEYS:
            raise SpaceError(f"{where} is not in the model's vocabulary; expected one of {list(VOCABULARY)}")
        if name in LIST_KEYS and not isinstance(value, list):
            what = {"rate_cuts": "the epochs after which the rate was cut", "learning_rates": "each epoch's rate"}
            raise SpaceError(f"{where}: expected a list of {what[name]}, got {value!r}")
        _check_value(where, name, value)
    layers = config.get("hidden_layers", 1)
    conv = config.get("layer_type") == "conv"
    for name in PER_LAYER:
        values = config.get(name)
        allowed = (1, layers) if conv and name == "units" else (layers,)  # a conv stack has one Dense head
        if isinstance(values, list) and len(values) not in allowed:
            raise SpaceError(
                f"{path}: parameter {name!r} has {len(values)} values for {layers} hidden layers; "
                f"expected {layers} (one per layer)"
            )
    if conv and layers > MAX_POOLED_LAYERS:
        raise SpaceError(f"{path}: parameter 'hidden_layers': at most {MAX_POOLED_LAYERS} conv layers, got {layers}")
    optimizer = config.get("optimizer", REFERENCE_CONFIG["optimizer"])
    for knob, optimizers in OPTIMIZER_KNOBS.items():
        if knob in config and optimizer not in optimizers:
            raise SpaceError(
                f"{path}: parameter {knob!r} applies to optimizer {' or '.join(optimizers)} only, and this config's "
                f"optimizer is {optimizer!r}: drop {knob!r} or change the optimizer"
            )


def _param(path: Path, name: Any, spec: Any, own: bool = False) -> Param:
    where = f"{path}: parameter {name!r}"
    if not isinstance(name, str) or not name.isidentifier():
        raise SpaceError(f"{where}: a parameter name must be an identifier (letters, digits, _)")
    if name not in VOCABULARY and not own:
        raise SpaceError(
            f"{where} is not in the model's vocabulary; expected one of {list(VOCABULARY)} "
            "(or give a model builder of your own: --model module:function)"
        )
    if not isinstance(spec, dict):
        _check_value(where, name, spec)
        return Param(name, value=spec)
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise SpaceError(f"{where}: unknown key {sorted(unknown)[0]!r}; expected some of {sorted(SPEC_KEYS)}")
    kind = spec.get("type")
    if kind not in TYPES:
        raise SpaceError(f"{where}: type {kind!r} is unknown; expected one of {list(TYPES)}")
    if spec.get("per_layer") and name not in PER_LAYER and not own:
        raise SpaceError(f"{where}: per_layer applies only to {list(PER_LAYER)}")
    when = _parse_when(where, spec.get("when"))
    common = {"per_layer": bool(spec.get("per_layer")), "when": when}
    if kind in ("int", "float"):
        return _numeric(where, name, kind, spec, common)
    choices = [False, True] if kind == "bool" else spec.get("choices")
    if not isinstance(choices, list) or not choices:
        raise SpaceError(f"{where}: 'choices' must be a non-empty list")
    if len({repr(choice) for choice in choices}) != len(choices):
        raise SpaceError(f"{where}: choices {choices} contain a duplicate")
    for choice in choices:
        _check_value(where, name, choice)
    return Param(name, type=kind, choices=tuple(choices), **common)


def _params(path: Path, name: Any, spec: Any, own: bool) -> list[Param]:
    """One parameter, or its alternatives when the spec is a list of specs."""
    if isinstance(spec, list) and spec and all(isinstance(each, dict) for each in spec):
        return _alternatives(path, name, spec, own)
    return [_param(path, name, spec, own)]


def _alternatives(path: Path, name: str, specs: list, own: bool) -> list[Param]:
    """Several specs for one parameter, each under its own ``when`` on one shared parent, e.g. a learning
    rate per optimizer. Engines see them as ``NAME_VALUE`` (``learning_rate_sgd``); the config as NAME."""
    where = f"{path}: parameter {name!r}"
    params = [_param(path, name, spec, own) for spec in specs]
    parents = {tuple(parent for parent, _ in param.when) for param in params}
    if len(parents) != 1 or len(next(iter(parents))) != 1:
        raise SpaceError(f"{where}: each alternative needs a 'when' on the same single parameter")
    taken: set = set()
    for param in params:
        ((_, allowed),) = param.when
        if taken & set(allowed):
            raise SpaceError(f"{where}: alternatives overlap on {sorted(taken & set(allowed), key=str)[0]!r}")
        taken |= set(allowed)
    return [dataclasses.replace(p, key=f"{name}_{'_'.join(map(str, p.when[0][1]))}") for p in params]


def _numeric(where: str, name: str, kind: str, spec: dict, common: dict) -> Param:
    low, high, step, log = spec.get("low"), spec.get("high"), spec.get("step"), bool(spec.get("log"))
    for key, value in (("low", low), ("high", high)):
        if not _is_number(value) or (kind == "int" and not float(value).is_integer()):
            raise SpaceError(f"{where}: '{key}' must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}")
    if low > high:
        raise SpaceError(f"{where}: low {low} is greater than high {high}")
    if log and low <= 0:
        raise SpaceError(f"{where}: a log scale needs low > 0, got {low}")
    if step is not None and (not _is_number(step) or step <= 0):
        raise SpaceError(f"{where}: 'step' must be a positive number, got {step!r}")
    if step is not None and log:
        raise SpaceError(f"{where}: 'step' and 'log' cannot be combined (Optuna refuses it)")
    _check_value(where, name, low)
    _check_value(where, name, high)
    return Param(name, type=kind, low=low, high=high, log=log, step=step, **common)


def _check_value(where: str, name: str, value: Any) -> None:
    """Is ``value`` something the model builder can use for ``name``?"""
    if name in (*PER_LAYER, *LIST_KEYS) and isinstance(value, list) and value:
        for item in value:
            _check_value(where, name, item)
        return
    if name == "activation":
        _check_activation(where, value)
    elif name in NAMED_CHOICES and value not in NAMED_CHOICES[name]:
        raise SpaceError(f"{where}: {name} {value!r} is unknown; expected one of {list(NAMED_CHOICES[name])}")
    elif name == "nesterov" and not isinstance(value, bool):
        raise SpaceError(f"{where}: expected true or false, got {value!r}")
    elif name in LIMITS:
        smallest, largest = LIMITS[name]
        integer = name in INTEGER_PARAMS
        if not _is_number(value) or (integer and not float(value).is_integer()) or not smallest <= value <= largest:
            kind = "an integer" if integer else "a number"
            raise SpaceError(f"{where}: expected {kind} in [{smallest}, {largest}], got {value!r}")


def _check_activation(where: str, value: Any) -> None:
    if value not in ACTIVATIONS:
        shown = ", ".join(ACTIVATIONS)
        raise SpaceError(f"{where}: activation {value!r} is not a Keras activation; expected one of {shown}")


def _parse_when(where: str, when: Any) -> tuple:
    if when is None:
        return ()
    if not isinstance(when, dict) or not when:
        raise SpaceError(f"{where}: 'when' must map a parameter to a value or a list of values")
    return tuple((parent, tuple(v if isinstance(v, list) else [v])) for parent, v in when.items())


def _check_when(path: Path, param: Param, params: dict[str, Param]) -> None:
    for parent, allowed in param.when:
        where = f"{path}: parameter {param.label!r}"
        if parent not in params:
            alternatives = any(other.name == parent for other in params.values())
            raise SpaceError(
                f"{where}: 'when' names {parent!r}, which the space does not define"
                + (" as one parameter (it has alternatives)" if alternatives else "")
            )
        if parent == param.name:
            raise SpaceError(f"{where}: 'when' cannot depend on the parameter itself")
        impossible = [value for value in allowed if not params[parent].admits(value)]
        if impossible:
            raise SpaceError(f"{where}: 'when' asks for {parent}={impossible[0]!r}, which {parent!r} can never take")


def _check_conv_geometry(path: Path, params: dict[str, Param]) -> None:
    layer_type = params.get("layer_type")
    if layer_type is None or "conv" not in (layer_type.values() or []):
        return
    layers = params.get("hidden_layers")
    deepest = max(layers.values() or [layers.high]) if layers else 1
    if deepest > MAX_POOLED_LAYERS:
        raise SpaceError(
            f"{path}: parameter 'hidden_layers': a conv stack pools 2x2 per layer, so 28x28 images "
            f"allow at most {MAX_POOLED_LAYERS} conv layers, got up to {deepest}"
        )


def check_data_fits(path: Path, params: dict[str, Param], input_shape: tuple[int, ...]) -> None:
    """Refuse, before any training, a conv space the data's rows cannot carry: flat features, or more
    2x2 poolings than the smaller image side allows (28 -> 4 layers, 8 -> 3)."""
    layer_type = params.get("layer_type")
    if layer_type is None or "conv" not in (layer_type.values() or []):
        return
    if len(input_shape) not in (2, 3):
        raise SpaceError(
            f"{path}: parameter 'layer_type': conv layers need images, and the data has flat rows of "
            f"{tuple(input_shape)}; use layer_type: dense"
        )
    side = min(input_shape[:2])
    allowed = max(side.bit_length() - 1, 0)  # floor(log2(side)) poolings leave at least one pixel
    layers = params.get("hidden_layers")
    deepest = max(layers.values() or [layers.high]) if layers else 1
    if deepest > allowed:
        raise SpaceError(
            f"{path}: parameter 'hidden_layers': a conv stack pools 2x2 per layer, so "
            f"{input_shape[0]}x{input_shape[1]} images allow at most {allowed} conv layers, got up to {deepest}"
        )


def _dependency_order(path: Path, params: dict[str, Param]) -> dict[str, Param]:
    """Parents before children: ``when`` parents and hidden_layers before per-layer params."""
    ordered: dict[str, Param] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in trail:
            raise SpaceError(f"{path}: parameter {name!r}: 'when' conditions form a cycle {' -> '.join(trail)}")
        param = params[name]
        parents = [parent for parent, _ in param.when]
        if param.per_layer and "hidden_layers" in params:
            parents.append("hidden_layers")
        for parent in parents:
            visit(parent, (*trail, name))
        ordered[name] = param

    for name in params:
        visit(name, ())
    return ordered


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
