"""Optuna against KerasTuner: the same wall-clock budget on the same data, one fresh study per engine.

Like ``sweep run --timeout``, each engine starts no trial once its budget is spent and finishes the
one it runs. Data and the baseline are loaded before any clock starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from sweep.data import DataSource, compute_baseline
from sweep.search.driver import SweepSettings, run_sweep
from sweep.search.tuner import PROJECTS, run_keras_tuner
from sweep.space import load_space, parse_engine

COMPARED = ("optuna", "keras-tuner:hyperband", "keras-tuner:random")


def compare_engines(
    space: Any,
    budget_seconds: float,
    engines: Sequence[str] = COMPARED,
    storage: str | None = None,
    max_train: int | None = None,
    data: DataSource | str | None = None,
    seed: int = 42,
    directory: Path = PROJECTS,
    fuse: int | str = "auto",
    model: str | None = None,
) -> pd.DataFrame:
    """One row per engine: best val_accuracy, trials, seconds until a trial first beat the baseline.

    Each engine runs in a fresh study ``SPACE-compare-ENGINE`` (a previous one of that name is replaced)
    and, for KerasTuner, a fresh project under ``directory``. ``wall_s`` includes the last trial.
    ``model``: a builder of the user's own (module:function) that both engines train. Both train every trial at
    the space's rate: Optuna's without the rate cuts of ``sweep run`` (``search.plateau``), which KerasTuner's
    trials do not have, so the table compares the searches alone.
    """
    from sweep.results import open_storage
    from sweep.search.progress import Progress

    parsed = [parse_engine(engine) for engine in engines]  # refuse a typo before any training
    # Sweep's own models (or the builder the space file names); no starts: KerasTuner cannot take them, so for
    # equal terms both engines begin with their own draws.
    space = dataclasses.replace(load_space(space, model), starts=())
    name = space.name
    data = DataSource.of(data)
    baseline = compute_baseline(data.split(max_train), data, cross_validated=False)["val_accuracy"]
    rows = []
    for engine, tuner in parsed:
        label = f"{engine}:{tuner}" if tuner else engine
        settings = SweepSettings(
            space=space,
            storage=storage,
            study=f"{name}-compare-{label.replace(':', '-')}",
            trials=None,
            timeout=budget_seconds,
            seed=seed,
            max_train=max_train,
            data=data,
            recycle_after=None,  # engines share this process one after the other
            fuse=fuse if tuner is None else 1,  # Optuna's engine with sweep run's default
            rate_cuts=False,  # KerasTuner's trials hold the space's rate: for equal terms, so do Optuna's
            model=model,
        )
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=settings.study, storage=open_storage(storage))
        started, clock = datetime.datetime.now(), time.monotonic()
        if tuner is None:
            study = run_sweep(settings, callbacks=[Progress(budget_seconds)])
        else:
            study = run_keras_tuner(settings, tuner, [Progress(budget_seconds)], directory, overwrite=True)
        rows.append(_summary(label, study, baseline, started, time.monotonic() - clock))
    table = pd.DataFrame(rows)
    table.attrs["baseline_val_accuracy"] = baseline
    return table


def _summary(engine: str, study, baseline: float, started: datetime.datetime, seconds: float) -> dict[str, Any]:
    from sweep.results import ranked_trials, score

    trials = study.get_trials(deepcopy=False)
    models = ranked_trials(trials)  # pruned trials at their best epoch
    complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
    best = score(models[0]) if models else math.nan
    beat = [(trial.datetime_complete - started).total_seconds() for trial in models if score(trial) > baseline]
    return {
        "engine": engine,
        "best_val_accuracy": best,
        "vs_baseline_pp": 100 * (best - baseline),
        "trials_completed": len(complete),
        "trials_pruned": sum(trial.state == TrialState.PRUNED for trial in trials),
        "trials_failed": sum(trial.state == TrialState.FAIL for trial in trials),
        "time_to_beat_baseline_s": min(beat, default=math.nan),
        "wall_s": seconds,
        "study": study.study_name,
    }
