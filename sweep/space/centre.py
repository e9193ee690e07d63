"""The centre of a space: the config a study with nothing else to try first begins with (study.enqueue_starts).

SMAC's initial design trains the space's default configuration before its first random draw, and ConfigSpace
takes a range's midpoint as the default. Sweep's centre is that midpoint (a log range's geometric one), a
numeric choice nearest it, and, where the space offers them, the choices a Keras user makes first: ReLU, Adam,
and the optimizer's own Keras default rate. A parameter of a builder of the user's own, under its own name,
gets its midpoint or first choice. The centre is a config the space draws like any other, so it is scored,
exported and retrained as any trial is.
"""

from __future__ import annotations

import math
from typing import Any

from sweep.space.spec import SearchSpace

USUAL_CHOICES = {"optimizer": "adam", "activation": "relu"}  # taken where a categorical offers them
KERAS_RATES = {"sgd": 0.01}  # Keras's default learning rate by optimizer ...
KERAS_RATE = 0.001  # ... and every other optimizer's


def centre_values(space: SearchSpace) -> dict[str, Any]:
    """The centre's drawn values, under the names the engines draw (Optuna's ``enqueue_trial`` takes them);
    empty where the space draws nothing."""
    centre = _Centre(space)
    space.sample(centre)
    return centre.values


class _Centre:
    """A :class:`sweep.space.spec.Suggester` that answers every draw with the centre, and keeps what it answered."""

    def __init__(self, space: SearchSpace):
        self.names = {param.label: param.name for param in space.params.values()}
        self.fixed = {param.name: param.value for param in space.params.values() if param.fixed}
        self.values: dict[str, Any] = {}

    def int(self, name: str, low: int, high: int, step: int, log: bool) -> int:
        return self._keep(name, int(_on_step(_middle(low, high, log), low, step)))

    def float(self, name: str, low: float, high: float, step: float | None, log: bool) -> float:
        rate = KERAS_RATES.get(self._chosen("optimizer"), KERAS_RATE)
        if self._parameter(name) == "learning_rate" and low <= rate <= high:
            return self._keep(name, rate)
        middle = _middle(low, high, log)
        return self._keep(name, _on_step(middle, low, step) if step else middle)

    def categorical(self, name: str, choices: list) -> Any:
        usual = USUAL_CHOICES.get(self._parameter(name))
        if usual in choices:
            return self._keep(name, usual)
        if all(isinstance(choice, (int, float)) and not isinstance(choice, bool) for choice in choices):
            middle = _middle(min(choices), max(choices), log=min(choices) > 0)
            return self._keep(name, min(choices, key=lambda choice: (abs(choice - middle), choice)))
        return self._keep(name, choices[0])  # ConfigSpace's default for a categorical

    def _keep(self, name: str, value: Any) -> Any:
        self.values[name] = value
        return value

    def _parameter(self, name: str) -> str:
        """The space's name for an engine's name: ``learning_rate_adam`` or ``units_1`` alike."""
        if name in self.names:
            return self.names[name]
        return self.names.get(name.rpartition("_")[0], name)

    def _chosen(self, parameter: str) -> Any:
        drawn = {self._parameter(name): value for name, value in self.values.items()}
        return drawn.get(parameter, self.fixed.get(parameter))


def _middle(low: float, high: float, log: bool) -> float:
    return math.sqrt(low * high) if log else (low + high) / 2


def _on_step(value: float, low: float, step: float) -> float:
    return low + step * math.floor((value - low) / step + 0.5)  # half up, as a reader rounds
