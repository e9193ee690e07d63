"""Resident memory across 100+ small trials of one worker, with and without process recycling.

Each trial stores the RSS of its process after training (user attribute rss_mb), so the
curve comes straight from the storage of a real `sweep run`.
"""

from __future__ import annotations

import os

import numpy as np
import optuna
import pandas as pd
from _common import python, write_table

TRIALS = int(os.environ.get("SWEEP_BENCH_MEMORY_TRIALS", "100"))
TINY = os.path.join(os.path.dirname(__file__), "..", "spaces", "tiny.yaml")


def rss_curve(tmp_path, recycle_after: int, fuse: int = 1) -> np.ndarray:
    url = f"sqlite:///{tmp_path / f'memory-{recycle_after}-{fuse}.db'}"
    python(
        "-m",
        "sweep",
        "run",
        "--space",
        TINY,
        "--trials",
        str(TRIALS),
        "--max-train",
        "1000",
        "--pruner",
        "none",
        "--recycle-after",
        str(recycle_after),
        "--fuse",
        str(fuse),
        "--storage",
        url,
        cwd=tmp_path,
    )
    trials = optuna.load_study(study_name="tiny", storage=url).get_trials()
    return np.array([t.user_attrs["rss_mb"] for t in sorted(trials, key=lambda t: t.number)])


def describe(label: str, samples: np.ndarray) -> dict:
    late = np.arange(len(samples) // 2, len(samples))
    return {
        "process": label,
        "trials": len(samples),
        "RSS trial 1 (MB)": samples[0],
        "RSS last trial (MB)": samples[-1],
        "peak (MB)": samples.max(),
        "slope (MB/trial)": np.polyfit(np.arange(len(samples)), samples, 1)[0],
        "slope, second half (MB/trial)": np.polyfit(late, samples[late], 1)[0],
    }


def test_memory_stays_bounded_over_many_trials(tmp_path):
    one_process = rss_curve(tmp_path, recycle_after=0)
    recycled = rss_curve(tmp_path, recycle_after=50)
    table = pd.DataFrame(
        [
            describe("one process (--recycle-after 0)", one_process),
            describe("recycled every 50 trials (default)", recycled),
        ]
    )
    every = pd.DataFrame(
        {"trial": np.arange(1, TRIALS + 1, 10), "one process (MB)": one_process[::10], "recycled (MB)": recycled[::10]}
    )
    notes = (
        "Trials of tests/spaces/tiny.yaml (1,000 training images, 1-2 epochs), one worker, "
        "keras.backend.clear_session() and gc.collect() after each trial. Even so, Keras and TensorFlow keep "
        "about 4 MB per built model (XLA off and malloc_trim did not change it), so by default a process "
        "hands over to a fresh one every 50 trials.\n\n## Every tenth trial\n\n"
        + every.to_markdown(index=False, floatfmt=".1f")
    )
    write_table("memory", "Resident memory over many trials in one worker", table, notes)
    assert recycled.max() < one_process.max()


def test_memory_stays_bounded_with_fused_groups(tmp_path):
    one_process = rss_curve(tmp_path, recycle_after=0, fuse=8)
    recycled = rss_curve(tmp_path, recycle_after=50, fuse=8)
    table = pd.DataFrame(
        [
            describe("--fuse 8, one process (--recycle-after 0)", one_process),
            describe("--fuse 8, recycled every 50 trials (default)", recycled),
        ]
    )
    notes = (
        "The same tiny trials as memory.md, trained in fused groups of 8; each trial's RSS is read when it "
        "leaves its group. A group is re-fused (a new Keras program) whenever trials leave or join."
    )
    write_table("memory-fused", "Resident memory over many fused trials in one worker", table, notes)
    assert recycled.max() <= one_process.max() + 50
