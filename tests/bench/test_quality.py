"""Quality per hour: the best val_accuracy each contender finds in the same wall-clock budget.

Contenders on the notes' space and the full data: `sweep` with its defaults, a hand-written
Optuna loop as Optuna's Keras example teaches it, and KerasTuner's Hyperband and RandomSearch
(through `sweep compare`, which gives each the same budget). Budget and seeds are set by
SWEEP_BENCH_BUDGET (seconds, default 300) and SWEEP_BENCH_SEEDS (default 1).
"""

from __future__ import annotations

import datetime
import os
import time

import optuna
import pandas as pd
from _common import python, write_table

BUDGET = float(os.environ.get("SWEEP_BENCH_BUDGET", "300"))
SEEDS = int(os.environ.get("SWEEP_BENCH_SEEDS", "1"))
ENGINES = ["optuna", "keras-tuner:hyperband", "keras-tuner:random"]


def hand_written_optuna(tmp_path, seed: int, baseline: float) -> dict:
    from sweep.search.compare import _summary

    url = f"sqlite:///{tmp_path / f'naive-{seed}.db'}"
    started, clock = datetime.datetime.now(), time.monotonic()
    python(os.path.join(os.path.dirname(__file__), "naive_optuna.py"), url, "naive", str(BUDGET), str(seed))
    study = optuna.load_study(study_name="naive", storage=url)
    return _summary("hand-written Optuna loop", study, baseline, started, time.monotonic() - clock)


def test_quality_per_hour(tmp_path):
    from sweep.search.compare import compare_engines as compare

    rows = []
    for seed in range(42, 42 + SEEDS):
        table = compare(
            "notes",
            BUDGET,
            ENGINES,
            storage=f"sqlite:///{tmp_path / 'compare.db'}",
            seed=seed,
            directory=tmp_path / "kt",
        )
        baseline = table.attrs["baseline_val_accuracy"]
        rows += [{**row, "seed": seed} for row in table.to_dict("records")]
        rows.append({**hand_written_optuna(tmp_path, seed, baseline), "seed": seed})
    results = pd.DataFrame(rows)
    results["engine"] = results["engine"].replace({"optuna": "sweep (defaults)"})
    summary = (
        results.groupby("engine", sort=False)
        .agg(
            best_val_accuracy=("best_val_accuracy", "mean"),
            spread=("best_val_accuracy", "std"),
            trials_completed=("trials_completed", "mean"),
            trials_pruned=("trials_pruned", "mean"),
            time_to_beat_baseline_s=("time_to_beat_baseline_s", "mean"),
        )
        .reset_index()
    )
    write_table(
        "quality",
        f"Quality per hour: best val_accuracy in {BUDGET / 60:g} minutes on the notes space",
        summary,
        f"{SEEDS} seed(s); spread is the standard deviation across seeds (blank with one seed). "
        f"Baseline (SGDClassifier on the same split): {baseline:.4f}. Same data, same split, one "
        "process at a time on this machine.",
    )
    assert (results["trials_completed"] > 0).all()
