"""KerasTuner as a second engine over the same search spaces.

The same ``SearchSpace.sample`` that drives Optuna declares every parameter, with its conditions,
on KerasTuner's ``HyperParameters``. Each finished KerasTuner trial goes into the Optuna study with
the params and distributions an Optuna trial would hold, so ``sweep table``, ``best``, ``train``
and Optuna's samplers read it like any other. Importing this module imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import logging
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import optuna
from keras_tuner.src.engine.conditions import Parent  # not exported; see KerasTunerSuggester.conditional
from optuna.trial import TrialState

from sweep.search.driver import OptunaSuggester, SweepSettings, SweepStopped, open_study, record_baseline
from sweep.search.study import best_epoch, first_tries
from sweep.space import REFERENCE_CONFIG, Param, SearchSpace, check_data_fits
from sweep.training import CLASSES, IMAGE_SHAPE, OURS, Builder, Speed, schedule_callbacks, signals

log = logging.getLogger(__name__)

# Keyed by vocabulary.TUNER_NAMES, which the CLI checks without importing this module.
TUNERS = {"hyperband": kt.Hyperband, "random": kt.RandomSearch, "bayesian": kt.BayesianOptimization}
PROJECTS = Path("results") / "keras_tuner"
OBJECTIVE = "val_accuracy"


class KerasTunerSuggester:
    """The Suggester protocol on ``keras_tuner.HyperParameters``; a parameter that is inactive draws None."""

    def __init__(self, hp):
        self.hp = hp

    @contextlib.contextmanager
    def conditional(self, conditions: tuple):
        """What ``hp.conditional_scope(parent, values)`` opens, for several parents at once (all must hold).

        Nested public scopes insist that each inner parent was declared inside the outer scopes; our
        parents are independent (``optimizer`` and ``hidden_layers``), so their conditions join the list directly.
        """
        scope = [Parent(parent, list(allowed)) for parent, allowed in conditions]
        self.hp._conditions.extend(scope)
        try:
            yield
        finally:
            del self.hp._conditions[len(self.hp._conditions) - len(scope) :]

    def int(self, name, low, high, step, log):
        # A log int has no step (spaces refuse both); KerasTuner's step would multiply on a log scale.
        value = self.hp.Int(name, low, high, step=None if log else step, sampling="log" if log else "linear")
        return self._inside(name, value, low, high)

    def float(self, name, low, high, step, log):
        if step is None:
            return self._inside(name, self.hp.Float(name, low, high, sampling="log" if log else "linear"), low, high)
        # KerasTuner counts grid points by floor division, which loses the top one when the step is
        # inexact in binary (0.5 // 0.1 == 4.0); a hair above high keeps it.
        return self._inside(name, self.hp.Float(name, low, high + step * 1e-9, step=step), low, high)

    def _inside(self, name, value, low, high):
        """The value within [low, high], also in ``hp.values``: the Bayesian oracle proposes an int without
        step as int(low + 1.0 * (high + 1 - low)), one past the end, when its optimum sits on the bound."""
        if value is None:
            return None
        inside = type(low)(min(max(value, low), high))
        if inside != value:
            self.hp.values[name] = inside
        return inside

    def categorical(self, name, choices):
        if all(isinstance(choice, bool) for choice in choices):  # Choice would turn them into 0 and 1
            return self.hp.Boolean(name) if len(set(choices)) == 2 else self.hp.Fixed(name, choices[0])
        return self.hp.Choice(name, list(choices))


class SpaceHyperModel(kt.HyperModel):
    """A search space as a HyperModel: ``build(hp)`` is ``build_model`` of the config ``hp`` stands for."""

    def __init__(self, space: SearchSpace, hyperband: bool = False, builder: Builder = OURS):
        super().__init__(name=space.name)
        self.builder = builder
        layers = space.params.get("hidden_layers")
        if layers is not None and layers.when and any(param.per_layer for param in space.params.values()):
            raise ValueError(f"{space.path}: KerasTuner cannot tie per-layer parameters to a conditional hidden_layers")
        self.epoch_span = epoch_span(space) if hyperband else None
        if hyperband:  # Hyperband sets each round's epochs itself
            epochs = Param("epochs", value=self.epoch_span[1])
            space = dataclasses.replace(space, params={**space.params, "epochs": epochs})
        self.space = space
        self.data_shape = {"input_shape": IMAGE_SHAPE, "classes": CLASSES}  # the split's, set before the search

    def config(self, hp) -> dict[str, Any]:
        """The trial config: a pure function of ``hp``, so build, fit and the stored record agree."""
        config = self.space.sample(KerasTunerSuggester(hp))
        if "tuner/epochs" in hp.values:
            config["epochs"] = hp.values["tuner/epochs"]
        return config

    def build(self, hp):  # the same speed settings as the Optuna engine's training
        speed, config = Speed(), self.config(hp)
        return self.builder.build(
            config, steps_per_execution=speed.steps_per_execution, jit_compile=speed.jit_compile, **self.data_shape
        )

    def fit(self, hp, model, *args, **kwargs):
        config = self.config(hp)
        kwargs.setdefault("epochs", config["epochs"])  # Hyperband passes its own epochs and initial_epoch
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), *schedule_callbacks(config)]
        history = model.fit(*args, batch_size=config["batch_size"], **kwargs)
        losses, first = history.history.get("loss", []), kwargs.get("initial_epoch", 0)
        if len(losses) < kwargs["epochs"] - first or not all(map(math.isfinite, losses)):
            raise kt.errors.FailedTrialError(f"diverged: loss became NaN in epoch {first + len(losses)}")
        return history


def epoch_span(space: SearchSpace) -> tuple[int, int]:
    """The fewest and most epochs the space allows: Hyperband's budgets lie between them."""
    param = space.params.get("epochs", Param("epochs", value=REFERENCE_CONFIG["epochs"]))
    if param.fixed:
        return param.value, param.value
    if param.type != "int" or (param.step or 1) != 1 or param.when:
        raise ValueError(
            f"{space.path}: parameter 'epochs': Hyperband chooses each trial's epochs itself, "
            "so it needs a fixed value or {type: int, low, high} without step or when"
        )
    return int(param.low), int(param.high)


def optuna_params(space: SearchSpace, values: dict[str, Any]) -> tuple[dict, dict]:
    """The params and distributions an Optuna trial holds for these drawn values: Optuna's own suggest
    calls, replayed through the same sampling code, decide both."""
    fixed = optuna.trial.FixedTrial(values)
    space.sample(OptunaSuggester(fixed))
    return fixed.params, fixed.distributions


@dataclasses.dataclass
class OptunaRecorder:
    """Writes each finished KerasTuner trial into the Optuna study, as the Optuna engine would have."""

    study: Any
    space: SearchSpace
    tuner: str
    callbacks: Sequence = ()
    max_failures: int = 5
    seed: int = 42  # trial i trains under seed + i, stored: `sweep best` + `sweep train` retrain that very model
    failed_in_a_row: int = 0

    def seed_of(self, trial) -> int:
        return self.seed + int(trial.trial_id)

    def record(self, trial, config: dict, curve: list[float], started: datetime.datetime) -> None:
        values = trial.hyperparameters.values
        complete = trial.status == "COMPLETED" and bool(curve)
        params, distributions = optuna_params(self.space, {**values, "epochs": config["epochs"]})
        attrs = {"engine": "keras-tuner", "tuner": self.tuner, "config": config, "keras_tuner_trial": trial.trial_id}
        attrs["seed"] = self.seed_of(trial)
        parent = self._parent(values.get("tuner/trial_id"))
        if parent is not None:  # Hyperband continued the parent's model: its first epochs are this curve's too
            attrs["continued_from"] = parent.number
            earlier = [parent.intermediate_values[step] for step in sorted(parent.intermediate_values)]
            curve = earlier[: values["tuner/initial_epoch"]] + curve
        value = None
        if complete:
            value, attrs["best_epoch"] = best_epoch(curve)
        else:
            attrs["fail_reason"] = (trial.message or "unknown").strip().splitlines()[-1][:200]
        frozen = optuna.trial.create_trial(
            state=TrialState.COMPLETE if complete else TrialState.FAIL,
            value=value,
            params=params,
            distributions=distributions,
            user_attrs=attrs,
            intermediate_values=dict(enumerate(curve, start=1)),
        )
        frozen.datetime_start, frozen.datetime_complete = started, datetime.datetime.now()
        self.study.add_trial(frozen)
        for callback in self.callbacks:
            callback(self.study, self.study.get_trials(deepcopy=False)[-1])
        self.failed_in_a_row = 0 if complete else self.failed_in_a_row + 1
        if self.failed_in_a_row >= self.max_failures:
            raise SweepStopped(
                f"stopped after {self.failed_in_a_row} failed trials in a row; last: {attrs['fail_reason']}. "
                "Check the search space (e.g. a learning rate that diverges) and run again to resume."
            )

    def _parent(self, keras_tuner_trial: str | None):
        """The stored trial Hyperband continues; the latest, should its project have been started afresh."""
        key = {"tuner": self.tuner, "keras_tuner_trial": keras_tuner_trial}
        mine = [t for t in self.study.get_trials(deepcopy=False) if key.items() <= t.user_attrs.items()]
        return mine[-1] if keras_tuner_trial is not None and mine else None


class _BudgetSpent(Exception):
    """The wall-clock budget ran out between two trials."""


class _Recording:
    """Mixed into a KerasTuner tuner: stop checks between trials, every finished trial into the study,
    and no checkpoint kept that Hyperband can no longer continue from (keras-tuner#288)."""

    def __init__(self, *, recorder: OptunaRecorder, **kwargs):
        self.recorder, self.deadline = recorder, None  # time.monotonic() after which no trial starts
        self.started: dict[str, datetime.datetime] = {}
        self.curves: dict[str, list[float]] = {}
        super().__init__(**kwargs)

    def pre_create_trial(self):
        signals.check()
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _BudgetSpent

    def on_trial_begin(self, trial):
        self.drop_stale_checkpoints()
        self.started[trial.trial_id] = datetime.datetime.now()
        super().on_trial_begin(trial)

    def run_trial(self, trial, *args, **kwargs):
        keras.utils.set_random_seed(self.recorder.seed_of(trial))  # weights and shuffles, as solo training seeds them
        histories = super().run_trial(trial, *args, **kwargs)
        self.curves[trial.trial_id] = [float(value) for value in histories[-1].history[OBJECTIVE]]
        return histories

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        config = self.hypermodel.config(trial.hyperparameters)
        self.recorder.record(trial, config, self.curves.pop(trial.trial_id, []), self.started.pop(trial.trial_id))

    def on_search_end(self):
        self.drop_stale_checkpoints()
        super().on_search_end()

    def drop_stale_checkpoints(self) -> None:
        """Keep only checkpoints of trials in an unfinished Hyperband round that a later round may continue."""
        brackets = self.oracle.get_state().get("brackets", [])
        resumable = {entry["id"] for bracket in brackets for round_ in bracket["rounds"][:-1] for entry in round_}
        for path in Path(self.project_dir).glob("trial_*/checkpoint*"):
            if path.parent.name.removeprefix("trial_") not in resumable:
                path.unlink()


class StartsFirst:
    """An oracle's random draws begin with the configs to try first (a space's ``starts:``, ``--warm-start``'s),
    as Optuna's queue does for the other engine. KerasTuner has no queue, but its oracles draw every new
    candidate through ``_random_values`` (random search; Hyperband's first round of a bracket, which then
    chooses the epochs; Bayesian optimisation's initial points), so a start takes the place of a draw. A start
    already among the oracle's trials (a resumed project) is not tried again; what a start leaves out is drawn.
    """

    def __init__(self, oracle, firsts: Sequence[dict[str, Any]]):
        self.oracle, self.draw = oracle, oracle._random_values  # noqa: SLF001 (see the docstring)
        declared = {hp.name for hp in oracle.hyperparameters.space}  # Hyperband's epochs are not a draw
        self.firsts = [{name: value for name, value in values.items() if name in declared} for values in firsts]
        oracle._random_values = self  # noqa: SLF001

    def __call__(self):
        tried = [trial.hyperparameters.values.items() for trial in self.oracle.trials.values()]
        for values in self.firsts:
            if not any(values.items() <= done for done in tried):
                return self._filled(values)
        return self.draw()

    def _filled(self, fixed: dict[str, Any]) -> dict[str, Any]:
        """KerasTuner's own draw (its ``_random_values``), with the start's values where it gives them."""
        hps = kt.HyperParameters()
        for hp in self.oracle.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp):
                hps.values[hp.name] = fixed[hp.name] if hp.name in fixed else hp.random_sample(self.oracle._seed_state)
                self.oracle._seed_state += 1  # noqa: SLF001
        return hps.values


class _StopRequests(keras.callbacks.Callback):
    """A clean stop (SIGINT, SIGTERM) ends the trial between batches, as in ``sweep run``."""

    def on_train_batch_end(self, batch, logs=None):
        signals.check()


class _ToLog(io.TextIOBase):
    """KerasTuner prints; library code logs."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                log.debug("keras-tuner: %s", line.rstrip())
        return len(text)


def make_tuner(name: str, hypermodel: SpaceHyperModel, project: Path, recorder, seed=42, overwrite=False):
    """KerasTuner's ``name`` tuner on ``hypermodel``, recording into a study; its own files go to ``project``."""
    hyperband = name == "hyperband"
    low, high = hypermodel.epoch_span or (None, None)
    options = {"max_epochs": high, "hyperband_iterations": None} if hyperband else {"max_trials": None}
    tuner = type(f"Recorded{TUNERS[name].__name__}", (_Recording, TUNERS[name]), {})(
        recorder=recorder,
        hypermodel=hypermodel,
        objective=kt.Objective(OBJECTIVE, "max"),
        seed=seed,
        max_consecutive_failed_trials=1 << 30,  # the recorder's guard stops first, with our message
        directory=str(project.parent),
        project_name=project.name,
        overwrite=overwrite,
        **options,
    )
    if hyperband and not tuner.oracle.trials:  # its budgets start at 1 epoch; the space says where they start
        tuner.oracle.min_epochs = low
        tuner.oracle._current_bracket = tuner.oracle._get_num_brackets() - 1
        tuner.oracle._brackets = []
        tuner.oracle._start_new_bracket()
    return tuner


def run_keras_tuner(
    settings: SweepSettings,
    tuner: str = "hyperband",
    callbacks: Sequence = (),
    directory: Path = PROJECTS,
    overwrite: bool = False,
):
    """Search with KerasTuner until the study holds ``settings.trials`` finished trials or ``settings.timeout``
    has passed (checked between trials, as in ``run_sweep``); return the Optuna study. Re-running continues
    both the study and KerasTuner's project, ``directory/STUDY/TUNER``."""
    if tuner not in TUNERS:
        raise ValueError(f"tuner {tuner!r} is unknown; expected one of {', '.join(TUNERS)}")
    space = settings.search_space()
    hypermodel = SpaceHyperModel(
        space, tuner == "hyperband", settings.builder(space)
    )  # refuses what KerasTuner cannot search
    split = settings.data.split(settings.max_train)  # bad data is refused before a study exists
    check_data_fits(space.path, space.params, split.input_shape)
    study = open_study(settings, space)
    baseline = record_baseline(study, split, settings.data)["val_accuracy"]
    hypermodel.data_shape = {"input_shape": split.input_shape, "classes": split.classes}
    log.info("study %r, keras-tuner %s: %s; baseline %.4f", study.study_name, tuner, split.describe(), baseline)
    finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    remaining = None if settings.trials is None else settings.trials - finished
    if remaining is not None and remaining <= 0:
        return study
    recorder = OptunaRecorder(study, space, tuner, callbacks, settings.max_failures, settings.seed)
    with contextlib.redirect_stdout(_ToLog()), warnings.catch_warnings():
        # Hyperband continues a model from its weights with a fresh optimizer, which Keras warns about.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        project = Path(directory) / study.study_name / tuner
        searcher = make_tuner(tuner, hypermodel, project, recorder, settings.seed, overwrite)
        firsts = first_tries(space, settings.warm_start, remaining)
        StartsFirst(searcher.oracle, [values for _, _, values in firsts])
        searcher.deadline = time.monotonic() + settings.timeout if settings.timeout else None
        if remaining is not None:
            searcher.oracle.max_trials = len(searcher.oracle.trials) + remaining
        data = {"x": split.x_train, "y": split.y_train, "validation_data": (split.x_val, split.y_val)}
        callbacks = [keras.callbacks.TerminateOnNaN(), _StopRequests()]
        try:
            searcher.search(**data, validation_batch_size=Speed().validation_batch, callbacks=callbacks, verbose=0)
        except _BudgetSpent:
            log.info("keras-tuner %s: time budget spent", tuner)
        finally:
            searcher.drop_stale_checkpoints()
    return study
