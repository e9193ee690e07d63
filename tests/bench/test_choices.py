"""Each speed choice of sweep.training.solo, measured on the reference trial: kept only where it pays."""

from __future__ import annotations

import json
import os

import pandas as pd
from _common import python, write_table

HERE = os.path.dirname(__file__)
ROUNDS = int(os.environ.get("SWEEP_BENCH_ROUNDS", "2"))
# (label, steps_per_execution, jit_compile, validation batch, intra-op threads)
VARIANTS = [
    ("plain fit (Keras defaults)", 1, "auto", 32, "0"),
    ("steps_per_execution=32", 32, "auto", 32, "0"),
    ("+ validation batch 2048", 32, "auto", 2048, "0"),
    ("+ jit_compile=False", 32, "false", 2048, "0"),
    ("+ one thread (sweep's choice per worker on 2 cores with --workers 2)", 32, "auto", 2048, "1"),
]


def test_speed_choices_on_the_reference_trial():
    rows = []
    for round_index in range(ROUNDS):  # interleaved: every variant once per round
        for label, steps, jit, validation_batch, threads in VARIANTS:
            env = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1" if threads == "1" else "0"}
            out = python(os.path.join(HERE, "choices_probe.py"), str(steps), jit, str(validation_batch), env=env)
            rows.append({"round": round_index, "variant": label, **json.loads(out.stdout.strip().splitlines()[-1])})
    table = pd.DataFrame(rows).groupby("variant", sort=False)[["seconds", "val_accuracy"]].mean().reset_index()
    table["speed-up vs plain"] = table["seconds"].iloc[0] / table["seconds"]
    write_table(
        "choices",
        "Speed choices on the reference trial (48,000 images, 5 epochs)",
        table,
        f"Mean of {ROUNDS} interleaved rounds, each variant in a fresh process after a warm-up trial. "
        "'0' threads means TensorFlow's default (all cores). sweep's defaults are "
        "steps_per_execution=32, validation batch 2048 and jit_compile='auto'.",
    )
