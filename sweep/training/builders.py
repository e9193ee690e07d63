"""Which model a trial trains: sweep's own Dense/Conv stacks, or a builder of the user's own.

A builder is ``build(config, input_shape, classes) -> keras.Model`` whose output is the class
probabilities. It is named ``module:function`` (``sweep run --model``, a space file's ``model:``) or
passed as a function (``sweep.run(model=build)``). This is the one place that resolves it: solo trials,
fused branches, KerasTuner, retraining and export all call ``Builder.build``, and sweep compiles what it
returns with the trial's optimizer, as it compiles its own models. The study records the reference, so
reading a study never guesses which model its trials were.

Importing a builder runs its module's code, so a reference is only checked for existence
(``importlib.util.find_spec``) until a command trains.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from sweep.training.native import load_keras_quietly

# Builders handed over as functions in this process (a notebook's cells), by reference.
_HANDED_OVER: dict[str, Callable] = {}


class BuilderError(ValueError):
    """A model builder that cannot be found, imported or used; one line says which and why."""


@dataclasses.dataclass(frozen=True)
class Builder:
    """``reference`` is ``module:function``, or None for sweep's own models (the notes' vocabulary)."""

    reference: str | None = None

    @classmethod
    def of(cls, model: Builder | str | Callable | None) -> Builder:
        if model is None or isinstance(model, Builder):
            return model or cls()
        if callable(model):
            reference = f"{model.__module__}:{model.__qualname__}"
            _HANDED_OVER[reference] = model
            return cls(reference)
        module, _, function = str(model).partition(":")
        if not module or not function:
            raise BuilderError(f"model {model!r} is not module:function, e.g. my_models:build")
        return cls(str(model))

    @property
    def own(self) -> bool:
        return self.reference is not None

    def check(self) -> None:
        """Refuse a module that is nowhere on the path, without running it (or loading Keras)."""
        if not self.own or self.reference in _HANDED_OVER:
            return
        module = self.reference.split(":")[0]
        if module == "__main__":
            raise BuilderError(
                f"model {self.reference} was defined in a notebook or script that is not running here: pass the "
                "function again (model=build) in that session, or move it into a module and name module:function"
            )
        _current_folder_on_path()
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):  # a parent package that is missing or broken
            found = None
        if found is None:
            raise BuilderError(
                f"model {self.reference}: no module {module!r} on the Python path (the current folder included); "
                "check the name, or run from the folder that holds it"
            )

    def check_before_training(self, workers: int) -> None:
        """A module that is nowhere is refused before TensorFlow loads, a missing function before a study exists;
        a builder handed over as a function lives in this process only, so worker processes cannot have it."""
        self.check()
        if self.own:
            self.function()
        if workers > 1 and self.own and self.reference.startswith("__main__:"):
            raise BuilderError(
                f"model {self.reference} lives in this session only; worker processes import their builder: "
                "move it into a module and pass 'module:function'"
            )

    def function(self) -> Callable:
        """The builder itself, imported on first use."""
        if self.reference in _HANDED_OVER:
            return _HANDED_OVER[self.reference]
        self.check()
        module_name, function_name = self.reference.split(":", 1)
        load_keras_quietly()  # a builder's module imports Keras: its native start-up lines go to the log file
        try:
            found: Any = importlib.import_module(module_name)
        except Exception as error:
            reason = _first_line(error)
            raise BuilderError(f"model {self.reference}: importing {module_name} failed ({reason})") from None
        for part in function_name.split("."):
            found = getattr(found, part, None)
        if not callable(found):
            raise BuilderError(f"model {self.reference}: {module_name} has no function {function_name!r}")
        return found

    def build(
        self,
        config: dict[str, Any],
        *,
        input_shape: tuple[int, ...],
        classes: int,
        steps_per_execution: int = 1,
        jit_compile: bool | str = "auto",
        name: str | None = None,
    ):
        """The compiled ``keras.Model`` for ``config`` on rows of ``input_shape`` with ``classes`` classes."""
        from sweep.training.model import build_model, compile_model

        speed = {"steps_per_execution": steps_per_execution, "jit_compile": jit_compile}
        if not self.own:
            return build_model(config, input_shape=tuple(input_shape), classes=classes, name=name, **speed)
        model = self.function()(dict(config), tuple(input_shape), classes)
        self._check_model(model, classes)
        if name:
            model.name = name  # fused branches must be told apart in one program
        return compile_model(model, config, **speed)

    def _check_model(self, model: Any, classes: int) -> None:
        import keras

        if not isinstance(model, keras.Model):
            raise BuilderError(f"model {self.reference} returned {type(model).__name__}, not a keras.Model")
        units = model.outputs[0].shape[-1] if len(model.outputs) == 1 else None
        if units != classes:
            raise BuilderError(
                f"model {self.reference} returned a model with output shape "
                f"{[tuple(output.shape) for output in model.outputs]}; the data has {classes} classes: end it with "
                f"keras.layers.Dense({classes}, activation='softmax')"
            )


def _current_folder_on_path() -> None:
    """`sweep run --model my_models:build` finds my_models.py in the current folder, as `python -m` would."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


OURS = Builder()  # sweep's own Dense/Conv stacks, built from the notes' vocabulary
