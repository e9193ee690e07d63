"""Search-space files: parse, validate, and sample a trial config.

A space is a YAML file (see ``search_spaces/notes.yaml``). Every fault is refused
before any training with a :class:`SpaceError` whose one line names the file, the
parameter and what was expected. Sampling is written once against the small
:class:`Suggester` protocol, so Optuna and KerasTuner draw from the same space.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from sweep.space.checks import check_space
from sweep.space.starts import check_starts, engine_values
from sweep.space.vocabulary import (  # noqa: F401  (re-exported: the names callers know space by)
    KNOB_DEFAULTS,
    PER_LAYER,
    REFERENCE_CONFIG,
    TRAINING_KEYS,
    VOCABULARY,
    Param,
    SpaceError,
)

# The built-in spaces: search_spaces/ in a checkout, sweep/search_spaces/ in an installed wheel (pyproject.toml)
SPACES_DIR = resources.files("sweep.search_spaces")


class Suggester(Protocol):
    """What sampling needs from a search engine (an Optuna trial, KerasTuner's hp).

    An engine that holds its whole space up front (KerasTuner) also defines
    ``conditional(conditions)``, a context manager: sampling then asks it for every
    parameter, inactive ones too, inside that parameter's conditions (``when`` and,
    per layer, ``hidden_layers``), and keeps only the active values. Optuna's
    define-by-run trials are asked for the active parameters only.
    """

    def int(self, name: str, low: int, high: int, step: int, log: bool) -> int: ...
    def float(self, name: str, low: float, high: float, step: float | None, log: bool) -> float: ...
    def categorical(self, name: str, choices: list) -> Any: ...


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """A validated space. ``model``: the builder the file names (module:function); ``own``: a builder of the
    user's own trains it (named here or given to the run), so its parameters are the builder's names."""

    name: str
    description: str
    params: dict[str, Param]
    path: Path | None = None
    model: str | None = None
    own: bool = False
    starts: tuple[dict[str, Any], ...] = ()  # configs to try first, partial, in the file's own names

    def start_values(self, start: dict[str, Any]) -> dict[str, Any]:
        """A start (or an earlier trial's config) as the values Optuna's ``enqueue_trial`` fixes."""
        return engine_values(start, self.params, f"{self.path}: start {start}")

    def sample(self, engine: Suggester) -> dict[str, Any]:
        """Draw one trial config; parameters whose ``when`` fails are left out."""
        drawn: dict[str, Any] = {}
        declares = hasattr(engine, "conditional")
        for param in self.params.values():  # validation put conditions first
            active = all(drawn.get(parent) in allowed for parent, allowed in param.when)
            if declares:
                value = self._declare(param, engine, drawn)
                if active:
                    drawn[param.name] = value
            elif active:
                drawn[param.name] = self._draw(param, engine, drawn)
        return self.complete(drawn)

    def complete(self, drawn: dict[str, Any]) -> dict[str, Any]:
        """A drawn config as training takes it: the notes' defaults for sweep's models; for a builder of
        the user's own, its parameters plus the training keys it left out (rmsprop 0.001, batch 32, 5 epochs)."""
        if not self.own:
            return complete_config(drawn)
        config = {**{key: REFERENCE_CONFIG[key] for key in TRAINING_KEYS}, **drawn}
        layers = config.get("hidden_layers", REFERENCE_CONFIG["hidden_layers"])
        for param in self.params.values():
            if param.per_layer and param.name in config:
                config[param.name] = _per_layer(config[param.name], layers)
        return config

    def _draw(self, param: Param, engine: Suggester, drawn: dict) -> Any:
        if not param.per_layer:
            return param.suggest(engine, param.label)
        layers = drawn.get("hidden_layers", REFERENCE_CONFIG["hidden_layers"])
        return [param.suggest(engine, f"{param.label}_{i}") for i in range(layers)]

    def _declare(self, param: Param, engine: Any, drawn: dict) -> Any:
        """Ask a declaring engine for ``param`` under its conditions: one draw per possible layer."""
        when = tuple((parent, allowed) for parent, allowed in param.when if not self.params[parent].fixed)
        if not param.per_layer:
            with engine.conditional(when):
                return param.suggest(engine, param.label)
        values = []
        for index, layer in enumerate(self.layer_conditions()):
            with engine.conditional(when + layer):
                values.append(param.suggest(engine, f"{param.label}_{index}"))
        return values[: drawn.get("hidden_layers", REFERENCE_CONFIG["hidden_layers"])]

    def layer_conditions(self) -> list[tuple]:
        """For each possible hidden layer, the condition on hidden_layers under which it exists."""
        layers = self.params.get("hidden_layers")
        if layers is None or layers.fixed:
            return [()] * (layers.value if layers else REFERENCE_CONFIG["hidden_layers"])
        counts = layers.values() or list(range(int(layers.low), int(layers.high) + 1))
        return [(("hidden_layers", tuple(c for c in counts if c > index)),) for index in range(max(counts))]

    def size(self) -> int | None:
        """The number of distinct configs, or None when a parameter is continuous."""
        total = 1
        for param in self.params.values():
            options = param.values()
            if options is None:
                return None
            layers = self.params.get("hidden_layers")
            depth = max(layers.values()) if param.per_layer and layers else 1
            total *= len(options) ** depth
        return total


def complete_config(drawn: dict[str, Any]) -> dict[str, Any]:
    """Fill what a space left out from the reference model, and give list params one entry per layer."""
    config = {**REFERENCE_CONFIG, **drawn}
    if config["layer_type"] == "conv":
        config.setdefault("filters", KNOB_DEFAULTS["filters"])
        config.setdefault("kernel_size", KNOB_DEFAULTS["kernel_size"])
    if config["optimizer"] == "sgd":
        config.setdefault("momentum", KNOB_DEFAULTS["momentum"])
        config.setdefault("nesterov", KNOB_DEFAULTS["nesterov"])
    for name in PER_LAYER:
        if name in config:
            config[name] = _per_layer(config[name], config["hidden_layers"])
    if config["layer_type"] == "conv":  # a conv stack has one Dense head: its size is the last units value
        config["units"] = list(config["units"])[-1:]
    return config


def _per_layer(value: Any, layers: int) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) == layers:
        return values
    return (values * layers)[:layers] if len(values) == 1 else values[:layers]


def resolve_path(space: str | Path) -> Path:
    """A path as given, or a bare name looked up among the built-in spaces."""
    path = Path(space)
    if path.suffix or path.exists():
        return path
    built_in = SPACES_DIR / f"{space}.yaml"
    if not built_in.is_file():
        names = ", ".join(sorted(entry.name.removesuffix(".yaml") for entry in _built_in_files()))
        raise SpaceError(f"{space!r}: no built-in search space of that name ({names}); give a file's path for your own")
    return built_in


def _built_in_files() -> list:
    return [entry for entry in SPACES_DIR.iterdir() if entry.name.endswith(".yaml")]


def available_spaces() -> list[SearchSpace]:
    return [load_space(path) for path in sorted(_built_in_files(), key=lambda entry: entry.name)]


def load_space(space: str | Path | dict | SearchSpace, model: Any = None) -> SearchSpace:
    """Read and validate a space (a file, a name in search_spaces/, a dict of the file's shape, or a
    SearchSpace); raise SpaceError with one line on any fault. ``model``: a builder of the user's own
    trains it, so its parameters may have names of their own."""
    if isinstance(space, SearchSpace):
        return dataclasses.replace(space, own=True) if model is not None and not space.own else space
    if isinstance(space, dict):
        document, path = space, Path(f"<space {space.get('name', 'dict')!r}>")
    else:
        path = resolve_path(space)
        document = _read_yaml(path)
    name, description, params, named_model = check_space(document, path, own=model is not None)
    own = model is not None or named_model is not None
    starts = check_starts(document.get("starts"), path, params)
    return SearchSpace(name, description, params, path, model=named_model, own=own, starts=starts)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise SpaceError(f"{path}: cannot read the search space ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "syntax"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpaceError(f"{path}: YAML error at {where}: {problem}") from None
