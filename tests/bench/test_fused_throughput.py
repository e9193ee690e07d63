"""Trials per hour with fused groups: the naive loop, --fuse 1 and --fuse K, 1 and 2 workers, same configs.

The configs are drawn from the notes' space (mixed depths, widths, activations, batch sizes,
optimizers and learning rates) with epochs capped at ``MAX_EPOCHS`` (mixed 1..cap), so one
run fits in minutes. Every contender trains the same configs on the full 48,000 images.
"""

from __future__ import annotations

import os
import re

import pandas as pd
from _common import write_table
from drawn import draw_params
from test_throughput import run_naive, run_sweep

COUNT = int(os.environ.get("SWEEP_BENCH_FUSED_CONFIGS", "16"))
MAX_EPOCHS = int(os.environ.get("SWEEP_BENCH_FUSED_EPOCHS", "3"))
CONTENDERS = [
    ("--fuse 1", 1, 1),
    ("--fuse 4", 1, 4),
    ("--fuse 8", 1, 8),
    ("--fuse 16", 1, 16),
    ("--fuse 8, 2 workers", 2, 8),
]


def live_share(tmp_path) -> str:
    """The groups' own report: the share of places, epoch by epoch, that trained a live trial."""
    log = (tmp_path / "results" / "bench.log").read_text() if (tmp_path / "results" / "bench.log").exists() else ""
    shares = re.findall(r"group-\d+: \d+ trials in \d+ s, (\d+)% of places live", log)
    return "/".join(shares[-2:]) + "%" if shares else ""


def test_fused_throughput(tmp_path):
    configs = {f"c{index:02d}": params for index, params in enumerate(draw_params(COUNT, max_epochs=MAX_EPOCHS))}
    results = {"naive": run_naive(tmp_path, "naive", configs)}
    shares = {}
    for name, workers, fuse in CONTENDERS:
        folder = tmp_path / f"w{workers}f{fuse}"
        folder.mkdir()
        results[name] = run_sweep(folder, "run", workers, configs, fuse)
        shares[name] = live_share(folder)
    naive_seconds = sum(r["seconds"] for r in results["naive"].values())
    solo = results["--fuse 1"]
    rows = []
    for name, by_config in results.items():
        span = by_config.pop("_span", None) or naive_seconds
        by_config.pop("_wall", None)
        differences = [by_config[c]["val_accuracy"] - solo[c]["val_accuracy"] for c in configs]
        rows.append(
            {
                "contender": name,
                f"seconds for the {COUNT} trials": span,
                "trials/hour": 3600 * COUNT / span,
                "ratio vs naive": naive_seconds / span,
                "mean val_acc": sum(r["val_accuracy"] for r in by_config.values()) / COUNT,
                "mean |Δ val_acc| vs --fuse 1": sum(abs(d) for d in differences) / COUNT,
                "group time / sum of solo times": span / sum(solo[c]["seconds"] for c in configs)
                if name in shares and name != "--fuse 1"
                else None,
                "places live": shares.get(name, ""),
            }
        )
    per_config = pd.DataFrame(
        {
            "config": list(configs),
            **{
                key: [configs[c][key] for c in configs]
                for key in ("hidden_layers", "batch_size", "epochs", "optimizer")
            },
            **{f"{name} val_acc": [results[name][c]["val_accuracy"] for c in configs] for name in results},
        }
    )
    notes = (
        f"{COUNT} configs drawn from the notes' space (seeded random sampler; epochs capped at {MAX_EPOCHS}, "
        "mixed), full 48,000 training images, validation on 12,000 after every epoch, pruning off. "
        "Seconds: first trial start to last trial end in the storage for sweep (process start-up, data "
        "loading and the cached baseline excluded), the sum of fits for the naive loop. "
        "Fused groups shuffle with their own stored order and --fuse 1 with Keras's, so per-config "
        "val_accuracy differences are shuffle and seed noise, not a systematic effect. 'places live': the "
        "share of a group's places, epoch by epoch, that trained a live trial (the tail of a run, when no "
        "new trials are wanted, leaves places empty).\n\n## Per config\n\n"
        + per_config.to_markdown(index=False, floatfmt=".4g")
    )
    write_table("fused", "Fused trials: trials per hour against the naive loop and --fuse 1", pd.DataFrame(rows), notes)
    fused_rows = [row for row in rows if row["contender"].startswith("--fuse")]
    assert all(row["mean |Δ val_acc| vs --fuse 1"] < 0.02 for row in fused_rows)  # equal accuracy per config
    assert all(row["mean val_acc"] > 0.6 for row in rows)  # every contender really trained
