"""Where a sweep's time goes: outside fit (overhead), against the FLOP floor, and start-up times."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import _common
import numpy as np
import optuna
import pandas as pd
from _common import CONFIGS, write_table

from sweep.results.storages import open_storage


def test_overhead_share_of_a_sweep(tmp_path):
    """Share of a sweep's wall time not spent building and fitting models."""
    url = f"sqlite:///{tmp_path / 'overhead.db'}"
    rows = []
    for space, trials in (("notes", 8), (os.path.join(os.path.dirname(__file__), "..", "spaces", "tiny.yaml"), 12)):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sweep",
                "run",
                "--space",
                space,
                "--trials",
                str(trials),
                "--storage",
                url,
                "--study",
                os.path.basename(space),
            ],
            check=True,
            cwd=tmp_path,
            capture_output=True,
            env={**os.environ, "SWEEP_BENCH": "1"},
        )
        study = optuna.load_study(study_name=os.path.basename(space), storage=open_storage(url))
        done = study.get_trials()
        span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
        training = sum(t.user_attrs["train_seconds"] for t in done)
        rows.append(
            {
                "space": os.path.basename(space),
                "trials": len(done),
                "sweep seconds": span,
                "in build+fit": training,
                "overhead share": 1 - training / span,
            }
        )
    write_table(
        "overhead",
        "Overhead: the share of a sweep's wall time outside build and fit",
        pd.DataFrame(rows),
        "Measured from the storage: first trial start to last trial end, against the sum of each "
        "trial's build+fit time (user attribute train_seconds). Overhead is sampling, storage writes, "
        "pruning checks and the callbacks between trials. The notes space has realistic trials "
        "(seconds to a minute); tiny.yaml has 1-2 s trials, the worst case for overhead.",
    )


def sgemm_gflops() -> float:
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    started = time.perf_counter()
    for _ in range(10):
        a @ a
    return 10 * 2 * 2048**3 / (time.perf_counter() - started) / 1e9


def reference_gflop(train_images=48000, val_images=12000, epochs=5) -> float:
    """Multiply-adds of Dense 784->100->10: forward x1, training x3 (forward + two backward matmuls)."""
    forward = 2 * (784 * 100 + 100 * 10)
    return epochs * (3 * forward * train_images + forward * val_images) / 1e9


def test_reference_trial_against_its_flop_floor():
    from sweep.data import load_split
    from sweep.space.spec import REFERENCE_CONFIG
    from sweep.training.solo import train

    split = load_split()
    train(REFERENCE_CONFIG, load_split(max_train=2000))  # warm-up: graph tracing, thread pools
    result = train(REFERENCE_CONFIG, split)
    rate = sgemm_gflops()
    floor = reference_gflop() / rate
    table = pd.DataFrame(
        [
            {
                "reference trial (s)": result.fit_seconds,
                "GFLOP": reference_gflop(),
                "numpy sgemm GFLOP/s": rate,
                "FLOP floor (s)": floor,
                "trial / floor": result.fit_seconds / floor,
                "val_accuracy": result.val_accuracy,
            }
        ]
    )
    write_table(
        "floor",
        "The reference trial against its FLOP floor",
        table,
        "Reference model: Dense 100 sigmoid, RMSprop, batch 32, 5 epochs on 48,000 images with "
        "validation on 12,000 after each epoch. The floor is its matmul FLOPs at numpy's float32 "
        "matmul rate; the gap is per-batch work (1,500 small batches per epoch), activations, the "
        "optimizer update and the framework.",
    )


def timed(command: list[str], repeat: int = 3, expect: int = 0) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        finished = subprocess.run(command, capture_output=True)
        best = min(best, time.perf_counter() - started)
        assert finished.returncode == expect, finished.stderr[-2000:]
    return best


def study_of(url: str, trials: int) -> None:
    """A notes study of ``trials`` finished trials, a third of them pruned, with curves and configs."""
    from optuna.distributions import IntDistribution

    config = _common.params_to_config(CONFIGS["relu-300-100-adam"])
    study = optuna.create_study(study_name="notes", storage=open_storage(url), direction="maximize")
    study.set_user_attr("baseline", {"val_accuracy": 0.834, "train_images": 48000})
    made = []
    for number in range(trials):
        epochs, ran = 20, (20 if number % 3 else 6)
        curve = {epoch: 0.80 + epoch / 1000 + number / 1e6 for epoch in range(1, ran + 1)}
        made.append(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE if ran == epochs else optuna.trial.TrialState.PRUNED,
                value=curve[ran] if ran == epochs else None,
                params={"epochs": epochs},
                distributions={"epochs": IntDistribution(5, 20)},
                intermediate_values=curve,
                user_attrs={"config": {**config, "epochs": epochs}, "seed": 42 + number},
            )
        )
    study.add_trials(made)


def broken_space(folder) -> str:
    path = folder / "broken.yaml"
    path.write_text("name: broken\nparams:\n  units: {type: int, low: 512, high: 16}\n")
    return str(path)


def test_start_up_times(tmp_path):
    """`sweep --help`, `table` and `best` skip TensorFlow; `run` cannot. `table` on 20 and 1,000 trials."""
    urls = {trials: f"sqlite:///{tmp_path / f'startup-{trials}.db'}" for trials in (20, 1000)}
    for trials, url in urls.items():
        study_of(url, trials)
    sweep = [sys.executable, "-m", "sweep"]
    rows = [
        {"command": "sweep --help", "seconds": timed([*sweep, "--help"])},
        *(
            {"command": f"sweep table ({trials:,} trials)", "seconds": timed([*sweep, "table", "--storage", url])}
            for trials, url in urls.items()
        ),
        {
            "command": "sweep best (1,000 trials)",
            "seconds": timed([*sweep, "best", "--storage", urls[1000], "--out", str(tmp_path / "b.json")]),
        },
        {
            "command": "sweep run of a broken space (refused, exit 2)",
            "seconds": timed([*sweep, "run", "--space", str(broken_space(tmp_path))], expect=2),
        },
        {
            "command": "import sweep.training.solo (what sweep run loads)",
            "seconds": timed([sys.executable, "-c", "import keras, sweep.training.solo"]),
        },
    ]
    write_table(
        "startup",
        "Start-up time: commands that skip TensorFlow against the import sweep run needs",
        pd.DataFrame(rows),
        "Best of 3 runs of each command, wall clock. Studies in SQLite, a third of their trials pruned. "
        "`sweep table` reads SQLite through sqlite3 (sweep/results/sqlite_study.py); `sweep best` through Optuna.",
    )
