"""What a new fused program costs: optimizer state built before the first traced step, and validation run
eagerly, against building that state inside the trace and tracing a predict function, side by side.

A group fuses a bucket anew whenever its members change, and in a sweep most trials are pruned after 1-3
epochs, so many of a group's epochs are the first of a new program (30 of 66 in a 5-minute run of the mlp
space on 12,000 images). Under TensorFlow, Keras creates the optimizer's slots inside the first traced step,
and tf.function then traces that step twice; ``predict`` traces a third function. The workload: configs drawn
from the mlp space with 1-3 epochs each, one group of 4 places, pruning off, the first 12,000 training images,
so the group re-fuses as often as in a sweep. Rounds run A B B A in one process. (Solo trials gained nothing
from building their state first: 1.01 times as fast, measured once; Keras traces a plain model's step once.)

Settings: SWEEP_BENCH_FUSION_CONFIGS (default 12), SWEEP_BENCH_FUSION_ROWS (default 12000).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
from _common import write_table
from drawn import draw_configs
from test_wide_first_layer import Queue

import sweep.training.fused
import sweep.training.group
from sweep.data import load_split
from sweep.training.group import train_group

COUNT = int(os.environ.get("SWEEP_BENCH_FUSION_CONFIGS", "12"))
ROWS = int(os.environ.get("SWEEP_BENCH_FUSION_ROWS", "12000"))
PLACES = 4
VARIANTS = {"state built in the trace, predict traced (before)": True, "state built first, eager validation": False}
ROUNDS = [True, False, False, True]  # A B B A


def traced_predict(program, images, batch_size):
    return program.predict(images, batch_size=batch_size, verbose=0)


def as_before(monkeypatch) -> None:
    """The code before this change: no slots built ahead of the trace, and a traced predict."""
    monkeypatch.setattr(sweep.training.fused, "build_optimizer_state", lambda program: None)
    monkeypatch.setattr(sweep.training.group, "predict_eagerly", traced_predict)


def run_group(split, configs):
    hooks = Queue(configs)
    started = time.perf_counter()
    stats = train_group(split, hooks, capacity=PLACES, shuffle_seed=7)
    return time.perf_counter() - started, stats.fusions, [hooks.last[i] for i in range(len(configs))]


def test_fusion_cost(monkeypatch):
    configs = draw_configs(COUNT, space="mlp", max_epochs=3)
    split = load_split(max_train=ROWS)
    seconds: dict[bool, list[float]] = {True: [], False: []}
    accuracy: dict[bool, list[float]] = {}
    for before in ROUNDS:
        if before:
            as_before(monkeypatch)
        spent, programs, accuracy[before] = run_group(split, configs)
        monkeypatch.undo()
        seconds[before].append(spent)
    rows = [
        {
            "code": name,
            "programs traced": programs,
            "seconds in its two rounds": " / ".join(f"{s:.1f}" for s in seconds[before]),
            "speed vs before": np.mean(seconds[True]) / np.mean(seconds[before]),
            "s saved per program": (np.mean(seconds[True]) - np.mean(seconds[before])) / programs,
            "max |Δ val_acc| vs before": np.nanmax(np.abs(np.subtract(accuracy[before], accuracy[True]))),
        }
        for name, before in VARIANTS.items()
    ]
    write_table(
        "fusion-cost",
        "What a new program costs: optimizer state built first and eager validation, against before",
        pd.DataFrame(rows),
        f"{COUNT} configs drawn from the mlp space (seeded random sampler, 1-3 epochs each), the first {ROWS} "
        f"training images, one group of {PLACES} places with pruning off, so a bucket is fused anew whenever a "
        "member finishes. Seconds from the group's start to its end, tracing included; rounds run A B B A in one "
        "process. val_acc is each config's last epoch in the last round of each code: the change moves no number.",
    )
    assert all(row["max |Δ val_acc| vs before"] < 1e-6 for row in rows)
