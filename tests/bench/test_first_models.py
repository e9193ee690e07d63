"""Each engine's first models, seed by seed: what the half-time goal of the anytime benchmark rests on.

On the cnn problem the anytime benchmark (test_anytime.py) times how soon each contender reaches the best peer's
5-minute mean. KerasTuner's Hyperband reaches it with its first trial in some seeds: its first bracket trains
random draws for the epochs of its first round, and a strong draw is a strong model at once. Sweep's first models
are the space's centre at the space's fewest epochs (its first rung, told as a trial) and then at its own. This
benchmark runs each engine for its first models only, on many seeds, so that how often a first draw is strong
is counted rather than guessed from three seeds.

Settings: SWEEP_BENCH_PROBLEM (a problem of test_anytime.py whose space has no starts; default cnn),
SWEEP_BENCH_MAX_TRAIN (default 12000), SWEEP_BENCH_SEEDS (Hyperband's seeds, default 10), SWEEP_BENCH_SWEEP_SEEDS
(default 3: the centre is the same config in every seed), SWEEP_BENCH_FIRST_SEED (default 42),
SWEEP_BENCH_TARGET (the val_accuracy a first model is counted at; default 0.88). Writes
results/reference/first-models-PROBLEM.md.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
from _common import ROOT, write_table

PROBLEM = os.environ.get("SWEEP_BENCH_PROBLEM", "cnn")
MAX_TRAIN = os.environ.get("SWEEP_BENCH_MAX_TRAIN", "12000")
SEEDS = int(os.environ.get("SWEEP_BENCH_SEEDS", "10"))
SWEEP_SEEDS = int(os.environ.get("SWEEP_BENCH_SWEEP_SEEDS", "3"))
FIRST_SEED = int(os.environ.get("SWEEP_BENCH_FIRST_SEED", "42"))
TARGET = float(os.environ.get("SWEEP_BENCH_TARGET", "0.88"))  # a first model this good is a strong draw
SPACES = ("cnn", "mlp")  # the problems whose space is a built-in one without starts, of the same name
# contender -> (its arguments after the space's, the trials that make its first models)
ENGINES = {
    "sweep (defaults)": ([], 2),  # the centre's first rung, then the centre
    "KerasTuner Hyperband": (["--engine", "keras-tuner", "--tuner", "hyperband"], 1),
}
SHOWN = ("layer_type", "hidden_layers", "batch_size", "optimizer", "learning_rate")  # of a model's config


def first_models(engine: str, seed: int, folder: Path) -> list[dict]:
    """The engine's first finished trials on ``seed``: seconds since the command started, score, epochs, config."""
    from sweep.results.anytime import best_reported

    arguments, trials = ENGINES[engine]
    url = f"sqlite:///{folder / 'study.db'}"
    command = ["run", "--space", PROBLEM, "--max-train", MAX_TRAIN, "--trials", str(trials)]
    started = datetime.datetime.now()
    done = subprocess.run(
        [sys.executable, "-m", "sweep", *command, "--seed", str(seed), "--storage", url, *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, f"{engine}, seed {seed}: {done.stderr[-3000:]}"
    study = optuna.load_study(study_name=PROBLEM, storage=url)
    finished = sorted((t for t in study.trials if best_reported(t) is not None), key=lambda t: t.datetime_complete)
    return [
        {
            "contender": engine,
            "seed": seed,
            "trial": trial.number,
            "seconds": round((trial.datetime_complete - started).total_seconds(), 1),
            "val_accuracy": best_reported(trial),
            "epochs": len(trial.intermediate_values),
            **{name: trial.user_attrs.get("config", {}).get(name) for name in SHOWN},
        }
        for trial in finished
    ]


def test_first_models(tmp_path):
    assert PROBLEM in SPACES, f"SWEEP_BENCH_PROBLEM must be one of {', '.join(SPACES)}"
    rows = []
    for engine, seeds in (("KerasTuner Hyperband", SEEDS), ("sweep (defaults)", SWEEP_SEEDS)):
        for seed in range(FIRST_SEED, FIRST_SEED + seeds):
            folder = tmp_path / f"{engine.replace(' ', '-')}-{seed}"
            folder.mkdir()
            rows += first_models(engine, seed, folder)
    table = pd.DataFrame(rows)
    assert set(table["contender"]) == set(ENGINES), "every engine made a model"
    first = table.groupby(["contender", "seed"]).head(1)
    counts = "; ".join(
        f"{engine}: first model {group['val_accuracy'].mean():.4f} on average, "
        f"{(group['val_accuracy'] >= TARGET).sum()} of {len(group)} seeds at {TARGET} or above"
        for engine, group in first.groupby("contender")
    )
    write_table(
        f"first-models-{PROBLEM}",
        f"The first models of each engine, seed by seed: {PROBLEM} problem, the first {MAX_TRAIN} training images",
        table,
        f"Seconds: from the command's start (imports, data and baseline included) to the trial's end, on both "
        f"cores, one command at a time. Epochs: those its model trained; val_accuracy: its best epoch. {counts}.",
    )
