"""Resident memory across 120 small trials in one worker: it must stay flat, not grow per trial."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from _common import python, read_json, write_table

TRIALS = int(os.environ.get("SWEEP_BENCH_MEMORY_TRIALS", "120"))
HERE = os.path.dirname(__file__)


def test_memory_stays_flat_over_many_trials(tmp_path):
    out = tmp_path / "memory.json"
    python(
        os.path.join(HERE, "memory_probe.py"), str(TRIALS), str(out), os.path.join(HERE, "..", "spaces", "tiny.yaml")
    )
    samples = np.array(read_json(out))
    assert len(samples) == TRIALS
    later_half = np.arange(TRIALS // 2, TRIALS)
    slope_all = np.polyfit(np.arange(TRIALS), samples, 1)[0]
    slope_late = np.polyfit(later_half, samples[later_half], 1)[0]
    table = pd.DataFrame(
        [
            {
                "trials": TRIALS,
                "RSS after trial 1 (MB)": samples[0],
                "RSS after trial 10 (MB)": samples[9],
                "RSS after last trial (MB)": samples[-1],
                "peak (MB)": samples.max(),
                "slope, all trials (MB/trial)": slope_all,
                "slope, second half (MB/trial)": slope_late,
            }
        ]
    )
    every = pd.DataFrame({"trial": np.arange(1, TRIALS + 1, 10), "RSS (MB)": samples[::10]})
    notes = (
        "Small trials of tests/spaces/tiny.yaml (1,000 training images, 1-2 epochs) in one process, "
        "keras.backend.clear_session() and gc.collect() after each. RSS read from /proc/self/statm "
        "after every trial.\n\n## Every tenth trial\n\n" + every.to_markdown(index=False, floatfmt=".1f")
    )
    write_table("memory", "Resident memory over many trials in one worker", table, notes)
