"""Trials per hour: the notes' naive loop against `sweep run` (1 and 2 workers), same configs, interleaved.

Each round runs the four fixed configs three ways, one after the other, so that drifts of
the machine hit every contender alike. Times are per trial (build + fit + validation).
"""

from __future__ import annotations

import json
import os
import time

import optuna
import pandas as pd
from _common import CONFIGS, params_to_config, python, read_json, write_table

ROUNDS = int(os.environ.get("SWEEP_BENCH_ROUNDS", "2"))


def run_naive(tmp_path, round_index, configs: dict = CONFIGS) -> dict:
    configs_file, out = tmp_path / f"configs-{round_index}.json", tmp_path / f"naive-{round_index}.json"
    configs_file.write_text(json.dumps(configs))
    python(os.path.join(os.path.dirname(__file__), "naive_loop.py"), str(configs_file), str(out))
    return read_json(out)


def run_sweep(tmp_path, round_index, workers: int, configs: dict = CONFIGS, fuse: int = 1) -> dict:
    """Enqueue the same configs in a fresh study and let `sweep run` work through them."""
    from sweep.results.storages import open_storage

    url = f"journal:///{tmp_path / f'sweep-{round_index}-{workers}-{fuse}.log'}"
    study = optuna.create_study(study_name="bench", storage=open_storage(url), direction="maximize")
    for params in configs.values():
        study.enqueue_trial(params)
    started = time.perf_counter()
    python(
        "-m",
        "sweep",
        "run",
        "--space",
        "notes",
        "--study",
        "bench",
        "--storage",
        url,
        "--pruner",
        "none",
        "--trials",
        str(len(configs)),
        "--workers",
        str(workers),
        "--fuse",
        str(fuse),
        cwd=tmp_path,
    )
    wall = time.perf_counter() - started
    trials = optuna.load_study(study_name="bench", storage=open_storage(url)).get_trials()
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    names = {json.dumps(params_to_config(p), sort_keys=True): n for n, p in configs.items()}
    results = {
        names[json.dumps(t.user_attrs["config"], sort_keys=True)]: {
            "seconds": t.duration.total_seconds(),
            "share_seconds": t.user_attrs.get("train_seconds"),  # a fused trial's share of its group's time
            "val_accuracy": t.value,
        }
        for t in trials
    }
    results["_span"] = (last - first).total_seconds()
    results["_wall"] = wall
    return results


def test_throughput_naive_vs_sweep(tmp_path):
    rows, spans = [], {"naive": [], "sweep, 1 worker": [], "sweep, 2 workers": []}
    for round_index in range(ROUNDS):
        contenders = {
            "naive": run_naive(tmp_path, round_index),
            "sweep, 1 worker": run_sweep(tmp_path, round_index, 1),
            "sweep, 2 workers": run_sweep(tmp_path, round_index, 2),
        }
        for contender, results in contenders.items():
            results.pop("_wall", None)
            span = results.pop("_span", None)  # the naive loop runs its trials one after the other
            spans[contender].append(span if span is not None else sum(r["seconds"] for r in results.values()))
            for name, result in results.items():
                rows.append({"round": round_index, "contender": contender, "config": name, **result})
    table = pd.DataFrame(rows)
    per_config = table.pivot_table(index="config", columns="contender", values=["seconds", "val_accuracy"])
    summary = pd.DataFrame(
        {
            "config": per_config.index,
            "naive s/trial": per_config["seconds"]["naive"].values,
            "sweep 1w s/trial": per_config["seconds"]["sweep, 1 worker"].values,
            "speed-up 1w": (per_config["seconds"]["naive"] / per_config["seconds"]["sweep, 1 worker"]).values,
            "naive val_acc": per_config["val_accuracy"]["naive"].values,
            "sweep 1w val_acc": per_config["val_accuracy"]["sweep, 1 worker"].values,
            "sweep 2w val_acc": per_config["val_accuracy"]["sweep, 2 workers"].values,
        }
    )
    naive_span = sum(spans["naive"]) / ROUNDS
    throughput = pd.DataFrame(
        [
            {
                "contender": contender,
                "seconds for the 4 trials": sum(values) / ROUNDS,
                "trials/hour": 3600 * len(CONFIGS) / (sum(values) / ROUNDS),
                "ratio vs naive": naive_span / (sum(values) / ROUNDS),
            }
            for contender, values in spans.items()
        ]
    )
    notes = (
        f"Mean of {ROUNDS} interleaved rounds. Per-config rows: build + fit + per-epoch validation of one "
        "trial. 'seconds for the 4 trials' for sweep is first trial start to last trial end in the "
        "storage (process start-up, data loading and the cached baseline excluded; they are paid once "
        "per night). val_accuracy differences between contenders are run-to-run noise of unseeded "
        "training, not a systematic effect.\n\n## Per config\n\n" + summary.to_markdown(index=False, floatfmt=".4g")
    )
    write_table("throughput", "Throughput: the notes' naive loop vs sweep", throughput, notes)
    assert (summary[["naive val_acc", "sweep 1w val_acc"]] > 0.6).all().all()  # every contender really trained
