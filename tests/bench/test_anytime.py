"""Anytime quality: best val_accuracy so far against wall-clock time, contenders one after another.

Each contender is a command started on a fresh study, on the notes' space and the full data:
- `sweep run` with its defaults (fused groups, TPE, median pruning);
- a hand-written Optuna loop as Optuna's Keras example teaches it (naive_optuna.py);
- KerasTuner's Hyperband and RandomSearch, through `sweep run --engine keras-tuner`.
Every clock starts with the command (imports, data and baseline included), every trial is scored on its
best epoch (as sweep and KerasTuner store it; the loop's is read from the curve it reports), and only
trials finished within the budget count (a loop's last trial can overrun its timeout). The same run
also times the notes' reference model for 5 epochs, so budgets can be read in units of it on a machine of
another speed.

Settings: SWEEP_BENCH_BUDGETS (seconds, comma-separated; the run lasts the largest; default 300),
SWEEP_BENCH_SEEDS (default 3), SWEEP_BENCH_FIRST_SEED (default 42), SWEEP_BENCH_CONTENDERS (comma-separated
names below; default the first four, the peers), SWEEP_BENCH_TABLE (default anytime). Writes
results/reference/TABLE.md, TABLE.png, TABLE-runs.csv and TABLE-curves.csv (every improvement: seconds, best, trial).
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
from _common import REFERENCE, write_table

BUDGETS = sorted(float(b) for b in os.environ.get("SWEEP_BENCH_BUDGETS", "300").split(","))
SEEDS = int(os.environ.get("SWEEP_BENCH_SEEDS", "3"))
FIRST_SEED = int(os.environ.get("SWEEP_BENCH_FIRST_SEED", "42"))  # to add seeds to an earlier run's table
TARGETS = (0.885, 0.89, 0.895)
HERE = Path(__file__).resolve().parent
SWEEP = ["-m", "sweep", "run", "--trials", "100000", "--timeout", "{budget}", "--seed", "{seed}", "--storage", "{url}"]
JAX = {"KERAS_BACKEND": "jax"}
NOTES = HERE.parents[1] / "search_spaces" / "notes.yaml"
# the notes' space with one change, named as its study: name -> (params replaced, starts kept, the last start again
# with these values, or None)
SPACE_VARIANTS = {
    "notes-chapter-starts": ({}, 2, None),  # the chapter's two models only: sweep's starts until 2026-12-03
    "notes-held-rate": ({"lr_schedule": "constant"}, None, None),  # the notes' held rate: the default until 2026-12-03
    "notes-wide-long": ({}, None, {"epochs": 20}),  # the wide start for the space's most epochs, as Hyperband trains it
}
CONTENDERS = {  # name -> (command after `python`, study name, environment); {url}, {budget}, {seed} are filled in
    "sweep (defaults)": (SWEEP, "notes", {}),
    "hand-written Optuna loop": ([str(HERE / "naive_optuna.py"), "{url}", "naive", "{budget}", "{seed}"], "naive", {}),
    "KerasTuner Hyperband": ([*SWEEP, "--engine", "keras-tuner", "--tuner", "hyperband"], "notes", {}),
    "KerasTuner random": ([*SWEEP, "--engine", "keras-tuner", "--tuner", "random"], "notes", {}),
    # levers, one at a time on top of the defaults
    "sweep on TensorFlow": (SWEEP, "notes", {"KERAS_BACKEND": "tensorflow"}),
    "sweep on JAX": (SWEEP, "notes", JAX),
    "sweep with 2 workers": ([*SWEEP, "--workers", "2"], "notes", {}),
    "sweep with Hyperband pruning": ([*SWEEP, "--pruner", "hyperband"], "notes", {}),
    "sweep with --fuse 4": ([*SWEEP, "--fuse", "4"], "notes", {}),
    "sweep with multivariate TPE": ([*SWEEP, "--sampler", "tpe-multivariate"], "notes", {}),
    "sweep with --prune-hopeless": ([*SWEEP, "--prune-hopeless"], "notes", {}),
    "sweep with --leaders-first": ([*SWEEP, "--leaders-first"], "notes", {}),
    "sweep with --grow": ([*SWEEP, "--grow"], "notes", {}),
    "sweep with a patient median": ([*SWEEP, "--pruner", "patient"], "notes", {}),
    "sweep with the chapter's starts only": ([*SWEEP, "--space", "{space}"], "notes-chapter-starts", {}),
    "sweep with the rate held": ([*SWEEP, "--space", "{space}"], "notes-held-rate", {}),
    "sweep with the wide start for 20 epochs too": ([*SWEEP, "--space", "{space}"], "notes-wide-long", {}),
}
PEERS = ",".join(list(CONTENDERS)[:4])  # the four; the levers run when named
CHOSEN = [name.strip() for name in os.environ.get("SWEEP_BENCH_CONTENDERS", PEERS).split(",")]
TABLE = os.environ.get("SWEEP_BENCH_TABLE", "anytime")  # a lever study writes beside, not over, the peers' table


def run_contender(name: str, seed: int, folder: Path) -> list[tuple]:
    """The contender's best-so-far points (seconds since its command started, best, trial)."""
    from sweep.results import open_storage
    from sweep.results.anytime import best_reported, best_so_far

    command, study_name, env = CONTENDERS[name]
    # SQLite serialises writers, so sweep refuses it for several workers; they share a journal file
    url = f"journal:///{folder / 'study.log'}" if "--workers" in command else f"sqlite:///{folder / 'study.db'}"
    space = variant_space(study_name, folder) if study_name in SPACE_VARIANTS else None
    filled = [part.format(url=url, budget=f"{BUDGETS[-1]:g}", seed=seed, space=space) for part in command]
    started = datetime.datetime.now()
    environment = {**os.environ, **env}
    result = subprocess.run([sys.executable, *filled], cwd=folder, capture_output=True, text=True, env=environment)
    assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
    study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    return best_so_far(study, started=started, budget_s=BUDGETS[-1], score=best_reported)


def variant_space(name: str, folder: Path) -> str:
    """The notes' space file with the variant's change, written into ``folder``."""
    import yaml

    document = yaml.safe_load(NOTES.read_text())
    params, kept, again = SPACE_VARIANTS[name]
    starts = document.get("starts", [])
    document["name"] = name
    document["params"].update(params)
    document["starts"] = starts[:kept] + ([{**starts[-1], **again}] if again else [])
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def reference_model_seconds() -> float:
    """Seconds to train the notes' reference model for 5 epochs with sweep's settings, in this run."""
    from sweep.data import load_split
    from sweep.space import REFERENCE_CONFIG
    from sweep.training import train

    split = load_split()
    return train(REFERENCE_CONFIG, split, seed=42).fit_seconds


def summarise(points: dict[tuple[str, int], list[tuple]]) -> pd.DataFrame:
    from sweep.results.anytime import seconds_to_reach

    rows = []
    for (name, seed), curve in points.items():
        row = {"contender": name, "seed": seed}
        for budget in BUDGETS:
            within = [best for seconds, best, _ in curve if seconds <= budget]
            row[f"best at {budget / 60:g} min"] = max(within) if within else float("nan")
        for target in TARGETS:
            row[f"s to {target}"] = seconds_to_reach(curve, target)
        rows.append(row)
    return pd.DataFrame(rows)


def curves_of(points: dict[tuple[str, int], list[tuple]]) -> pd.DataFrame:
    """Every improvement of every run, so a later session can redraw or extend the plot."""
    rows = [
        {"contender": name, "seed": seed, "seconds": seconds, "best": best, "trial": trial}
        for (name, seed), curve in points.items()
        for seconds, best, trial in curve
    ]
    return pd.DataFrame(rows, columns=["contender", "seed", "seconds", "best", "trial"])


def table_of(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd of the best per budget, and the median seconds to each target ('not reached' if never)."""
    lines = []
    for name, group in runs.groupby("contender", sort=False):
        line = {"contender": name, "seeds": len(group)}
        for budget in BUDGETS:
            column = group[f"best at {budget / 60:g} min"]
            line[f"best at {budget / 60:g} min"] = f"{column.mean():.4f} ± {column.std():.4f}"
        for target in TARGETS:
            reached = group[f"s to {target}"].dropna()
            shown = f"{reached.median():.0f} s" if len(reached) else "not reached"
            line[f"median s to {target}"] = f"{shown} ({len(reached)}/{len(group)})"
        lines.append(line)
    return pd.DataFrame(lines)


def plot(points: dict[tuple[str, int], list[tuple]], baseline: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {name: f"C{index}" for index, name in enumerate(CHOSEN)}
    figure, axes = plt.subplots(figsize=(9, 5.5))
    for (name, seed), curve in points.items():
        if curve:
            minutes = [seconds / 60 for seconds, _, _ in curve] + [BUDGETS[-1] / 60]
            best = [value for _, value, _ in curve] + [curve[-1][1]]
            axes.step(minutes, best, where="post", color=colours[name], alpha=0.8,
                      label=name if seed == 42 else None)  # fmt: skip
    if baseline is not None:
        axes.axhline(baseline, color="#c0392b", linestyle="--", label=f"SGDClassifier baseline {baseline:.4f}")
    axes.set_xlabel("minutes since the command started")
    axes.set_ylabel("best val_accuracy so far")
    axes.set_ylim(min(0.84, (baseline or 1) - 0.005), 0.91)  # the baseline line inside the plot
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def test_anytime(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_CACHE_DIR", str(tmp_path / "cache"))  # the baseline once, as a returning user has it
    baseline = _baseline()
    reference_s = reference_model_seconds()
    points: dict[tuple[str, int], list[tuple]] = {}
    for seed in range(FIRST_SEED, FIRST_SEED + SEEDS):
        for name in CHOSEN:  # one contender after another, seed by seed, so drifts in speed hit all alike
            folder = tmp_path / f"{name.replace(' ', '-')}-{seed}"
            folder.mkdir()
            points[(name, seed)] = run_contender(name, seed, folder)
    runs = summarise(points)
    REFERENCE.mkdir(parents=True, exist_ok=True)
    runs.to_csv(REFERENCE / f"{TABLE}-runs.csv", index=False)
    curves_of(points).to_csv(REFERENCE / f"{TABLE}-curves.csv", index=False)
    plot(points, baseline, REFERENCE / f"{TABLE}.png")
    budgets = ", ".join(f"{b / 60:g} min = {b / reference_s:.0f} reference-model trainings" for b in BUDGETS)
    write_table(
        TABLE,
        "Anytime quality: best val_accuracy so far against wall-clock time, notes space, full data",
        table_of(runs),
        f"{SEEDS} seed(s) per contender ({FIRST_SEED}...), mean ± sd across seeds; the median seconds to a "
        "target count only the seeds that reached it (shown in brackets). Clocks start with each command; only trials "
        "finished within the budget count; every trial is scored on its best epoch (sweep and KerasTuner store "
        "that; the loop's is read from the curve it reports). In this run the notes' "
        f"reference model trained 5 epochs in {reference_s:.1f} s, so the budgets were {budgets}. "
        f"SGDClassifier baseline on the same split: {baseline:.4f}. Contenders run: {', '.join(CHOSEN)}. "
        f"Per-seed rows: {TABLE}-runs.csv; the curves: {TABLE}.png.",
    )
    assert all(points.values()), "every contender finished at least one trial"


def _baseline() -> float:
    from sweep.data import DataSource, compute_baseline

    source = DataSource()
    return compute_baseline(source.split(), source)["val_accuracy"]
