"""TensorFlow against JAX on this machine's CPU: the same drawn configs, fused and solo, interleaved rounds.

A solo reference-model epoch is about twice as fast under JAX on two cores (issue #17's probe), so JAX was
a candidate default. What a sweep runs is fused groups, so this measures those: 16 configs of the notes'
space (epochs 1-3, mixed batch sizes), pruning off, the span from the first trial's start to the last
one's end, for `--fuse 8` (the CPU default) and `--fuse 1`, under each backend, round after round.
"""

from __future__ import annotations

import os

import pandas as pd
from _common import write_table
from drawn import draw_params
from test_throughput import run_sweep

ROUNDS = int(os.environ.get("SWEEP_BENCH_ROUNDS", "2"))
BACKENDS = ("tensorflow", "jax")
FUSES = (8, 1)


def test_backends(tmp_path, monkeypatch):
    configs = {f"c{index:02d}": params for index, params in enumerate(draw_params(16, max_epochs=3))}
    rows = []
    for round_index in range(1, ROUNDS + 1):
        for fuse in FUSES:
            for backend in BACKENDS:  # side by side: each fuse size under both backends, one after the other
                monkeypatch.setenv("KERAS_BACKEND", backend)
                folder = tmp_path / f"{backend}-{fuse}-{round_index}"
                folder.mkdir()
                result = run_sweep(folder, round_index, 1, configs, fuse)
                accuracies = [result[name]["val_accuracy"] for name in configs]
                rows.append(
                    {"round": round_index, "fuse": fuse, "backend": backend, "span_s": result["_span"],
                     "wall_s": result["_wall"], "mean val_acc": sum(accuracies) / len(accuracies)}
                )  # fmt: skip
    monkeypatch.undo()  # the table's machine line names the environment's backend, not the last one set here
    runs = pd.DataFrame(rows)
    table = runs.groupby(["fuse", "backend"], sort=False)[["span_s", "wall_s", "mean val_acc"]].mean().reset_index()
    tensorflow = table[table["backend"] == "tensorflow"].set_index("fuse")["span_s"]
    table["TensorFlow span / this span"] = table["fuse"].map(tensorflow) / table["span_s"]
    write_table(
        "backends",
        "TensorFlow against JAX on CPU: 16 drawn notes configs (1-3 epochs), fused and solo",
        table,
        f"Mean of {ROUNDS} interleaved rounds (per round: {runs.to_dict('records')}). span_s: first trial start to "
        "last trial end in the storage; wall_s: the whole `sweep run` command, imports and the cached baseline "
        "included. A ratio above 1 means this backend is faster than TensorFlow at the same --fuse.",
    )
    assert (runs["span_s"] > 0).all()
