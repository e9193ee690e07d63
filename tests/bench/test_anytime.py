"""Anytime quality: best val_accuracy so far against wall-clock time, contenders one after another.

Each contender is a command started on a fresh study, on one problem (a space, and a model of our own for `own`):
- `sweep run` with its defaults (fused groups, TPE, median pruning);
- a hand-written Optuna loop as Optuna's Keras example teaches it (naive_optuna.py; the notes' problems only);
- KerasTuner's Hyperband and RandomSearch, through `sweep run --engine keras-tuner`.
Every clock starts with the command (imports, data and baseline included), every trial is scored on its
best epoch (as sweep and KerasTuner store it; the loop's is read from the curve it reports), and only
trials finished within the budget count (a loop's last trial can overrun its timeout; a contender still running
``GRACE_S`` after the budget is stopped, since nothing it finishes later counts). The same run also times the notes'
reference model for 5 epochs on the full data, so budgets can be read in units of it on a machine of another speed.

Problems (SWEEP_BENCH_PROBLEM): `notes` (today's space, whose hand-chosen starts sit at an MLP's ceiling),
`notes-nostarts` (the same space without its starts), `mlp` and `cnn` (search_spaces/), and `own` (the residual MLP
of tests/builders/ through `--model`, on a space with room in width, depth, epochs and rate). The notes' space
leaves little headroom; the others are where a search policy shows whether it earns its trials.

Settings: SWEEP_BENCH_PROBLEM (default notes), SWEEP_BENCH_MAX_TRAIN (the first N training images for every
contender, `--max-train`; default all), SWEEP_BENCH_BUDGETS (seconds, comma-separated; the run lasts the largest;
default 300), SWEEP_BENCH_SEEDS (default 3), SWEEP_BENCH_FIRST_SEED (default 42), SWEEP_BENCH_CONTENDERS
(comma-separated names below; default the peers), SWEEP_BENCH_TARGETS (val_accuracy, comma-separated; default the
problem's), SWEEP_BENCH_TABLE (default anytime for notes, else headroom-PROBLEM-Nmin), SWEEP_BENCH_CANDIDATE (a
checkout of sweep, such as a git worktree, that the contender `sweep (candidate)` runs with its defaults: a policy
not yet merged, side by side with today's in one run), SWEEP_BENCH_SIDE_BY_SIDE=1 (a seed's contenders run at once,
each pinned to a core of its own among those the run may use: a long budget in a fraction of the time, and a drift
in the machine's speed hits every contender at the same moment). Writes
results/reference/TABLE.md, TABLE.png, TABLE-runs.csv and TABLE-curves.csv (every improvement: seconds, best, trial).
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
from _common import REFERENCE, write_table

BUDGETS = sorted(float(b) for b in os.environ.get("SWEEP_BENCH_BUDGETS", "300").split(","))
SEEDS = int(os.environ.get("SWEEP_BENCH_SEEDS", "3"))
FIRST_SEED = int(os.environ.get("SWEEP_BENCH_FIRST_SEED", "42"))  # to add seeds to an earlier run's table
PROBLEM = os.environ.get("SWEEP_BENCH_PROBLEM", "notes")
MAX_TRAIN = int(os.environ["SWEEP_BENCH_MAX_TRAIN"]) if os.environ.get("SWEEP_BENCH_MAX_TRAIN") else None
GRACE_S = 30  # a contender still running this long after the budget is stopped: what it finishes later never counts
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CANDIDATE = os.environ.get("SWEEP_BENCH_CANDIDATE")  # another checkout's code, imported first by its contender
SWEEP = ["-m", "sweep", "run", "--trials", "100000", "--timeout", "{budget}", "--seed", "{seed}", "--storage", "{url}"]
JAX = {"KERAS_BACKEND": "jax"}
NOTES = ROOT / "search_spaces" / "notes.yaml"
RESIDUAL = ROOT / "tests" / "spaces" / "residual.yaml"
# A space derived from a built-in one, named as its study: name -> (source file, params replaced, starts kept,
# the last start again with these values, or None)
SPACE_VARIANTS = {
    "notes-chapter-starts": (NOTES, {}, 2, None),  # the chapter's two models only: sweep's starts until 2026-12-03
    "notes-held-rate": (NOTES, {"lr_schedule": "constant"}, None, None),  # the held rate: the default until 12-03
    "notes-wide-long": (NOTES, {}, None, {"epochs": 20}),  # the wide start for the most epochs, as Hyperband trains it
    "notes-nostarts": (NOTES, {}, 0, None),  # no start chosen by hand: the search alone finds the answer
    # the tests' residual MLP (two epochs, tiny widths) given room to search, as a user's own model would have
    "residual-headroom": (
        RESIDUAL,
        {
            "blocks": {"type": "int", "low": 1, "high": 4},
            "width": {"type": "int", "low": 32, "high": 512, "log": True},
            "batch_size": {"type": "categorical", "choices": [64, 128, 256]},
            "epochs": {"type": "int", "low": 3, "high": 20},
            "optimizer": {"type": "categorical", "choices": ["sgd", "rmsprop", "adam"]},
            "learning_rate": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
        },
        0,
        None,
    ),
}
# name -> (the arguments that choose space and model, the study's name, the targets the table counts seconds to)
PROBLEMS = {
    "notes": ([], "notes", (0.885, 0.89, 0.895)),
    "notes-nostarts": (["--space", "{space}"], "notes-nostarts", (0.885, 0.89, 0.895)),
    "mlp": (["--space", "mlp"], "mlp", (0.87, 0.88, 0.89)),
    "cnn": (["--space", "cnn"], "cnn", (0.88, 0.89, 0.90)),
    "own": (["--space", "{space}", "--model", "residual_mlp:build"], "residual-headroom", (0.87, 0.88, 0.89)),
}
SPACE_ARGS, PROBLEM_STUDY, PROBLEM_TARGETS = PROBLEMS[PROBLEM]
TARGETS = (
    tuple(float(t) for t in os.environ["SWEEP_BENCH_TARGETS"].split(","))
    if os.environ.get("SWEEP_BENCH_TARGETS")
    else PROBLEM_TARGETS
)
PROBLEM_SWEEP = [*SWEEP, *SPACE_ARGS, *(["--max-train", str(MAX_TRAIN)] if MAX_TRAIN else [])]
ON_NOTES = ["--space", "{space}"]  # a notes variant replaces the problem's space (the notes problem only)
CONTENDERS = {  # name -> (command after `python`, study name or None for the problem's, environment)
    "sweep (defaults)": (PROBLEM_SWEEP, None, {}),
    "sweep (candidate)": (PROBLEM_SWEEP, None, {}),  # SWEEP_BENCH_CANDIDATE's code
    "hand-written Optuna loop": ([str(HERE / "naive_optuna.py"), "{url}", "naive", "{budget}", "{seed}"], "naive", {}),
    "KerasTuner Hyperband": ([*PROBLEM_SWEEP, "--engine", "keras-tuner", "--tuner", "hyperband"], None, {}),
    "KerasTuner random": ([*PROBLEM_SWEEP, "--engine", "keras-tuner", "--tuner", "random"], None, {}),
    # levers, one at a time on top of the defaults
    "sweep on TensorFlow": (PROBLEM_SWEEP, None, {"KERAS_BACKEND": "tensorflow"}),
    "sweep on JAX": (PROBLEM_SWEEP, None, JAX),
    "sweep with 2 workers": ([*PROBLEM_SWEEP, "--workers", "2"], None, {}),
    "sweep with Hyperband pruning": ([*PROBLEM_SWEEP, "--pruner", "hyperband"], None, {}),
    "sweep with ASHA pruning": ([*PROBLEM_SWEEP, "--pruner", "asha"], None, {}),
    "sweep with --pbt": ([*PROBLEM_SWEEP, "--pbt"], None, {}),
    "sweep with ASHA pruning and --grow": ([*PROBLEM_SWEEP, "--pruner", "asha", "--grow"], None, {}),
    "sweep with ASHA and --grow and --prune-hopeless": (
        [*PROBLEM_SWEEP, "--pruner", "asha", "--grow", "--prune-hopeless"],
        None,
        {},
    ),
    "sweep with --fuse 4": ([*PROBLEM_SWEEP, "--fuse", "4"], None, {}),
    "sweep with --fuse 1": ([*PROBLEM_SWEEP, "--fuse", "1"], None, {}),
    "sweep with --held-rate": ([*PROBLEM_SWEEP, "--held-rate"], None, {}),  # the rate as the space says, never cut
    "sweep with --epochs-budget": ([*PROBLEM_SWEEP, "--epochs-budget"], None, {}),
    "sweep with --epochs-budget and a patient median": (
        [*PROBLEM_SWEEP, "--epochs-budget", "--pruner", "patient"],
        None,
        {},
    ),
    "sweep with multivariate TPE": ([*PROBLEM_SWEEP, "--sampler", "tpe-multivariate"], None, {}),
    "sweep with --prune-hopeless": ([*PROBLEM_SWEEP, "--prune-hopeless"], None, {}),
    "sweep with --leaders-first": ([*PROBLEM_SWEEP, "--leaders-first"], None, {}),
    "sweep with --grow": ([*PROBLEM_SWEEP, "--grow"], None, {}),
    "sweep with a patient median": ([*PROBLEM_SWEEP, "--pruner", "patient"], None, {}),
    "sweep with curve extrapolation": ([*PROBLEM_SWEEP, "--pruner", "curve"], None, {}),
    "sweep with the chapter's starts only": ([*SWEEP, *ON_NOTES], "notes-chapter-starts", {}),
    "sweep with the rate held": ([*SWEEP, *ON_NOTES], "notes-held-rate", {}),
    "sweep with the wide start for 20 epochs too": ([*SWEEP, *ON_NOTES], "notes-wide-long", {}),
}
NOTES_ONLY = {
    "hand-written Optuna loop",
    *(name for name, (_, study, _) in CONTENDERS.items() if study in SPACE_VARIANTS),
}
PEERS = [name for name in list(CONTENDERS)[:4] if PROBLEM == "notes" or name not in NOTES_ONLY]  # the peers
CHOSEN = [name.strip() for name in os.environ.get("SWEEP_BENCH_CONTENDERS", ",".join(PEERS)).split(",")]
DEFAULT_TABLE = "anytime" if PROBLEM == "notes" else f"headroom-{PROBLEM}-{BUDGETS[-1] / 60:g}min"
TABLE = os.environ.get("SWEEP_BENCH_TABLE", DEFAULT_TABLE)  # a lever study writes beside, not over, the peers' table
SIDE_BY_SIDE = os.environ.get("SWEEP_BENCH_SIDE_BY_SIDE") == "1"
SIDE_BY_SIDE_NOTE = ", a seed's contenders at once, one core each"


def run_seed(seed: int, tmp_path: Path) -> dict[str, tuple[list[tuple], int]]:
    """Every chosen contender on one seed: one after another, or at once on a core each (SIDE_BY_SIDE)."""
    folders = {name: tmp_path / f"{name.replace(' ', '-')}-{seed}" for name in CHOSEN}
    for folder in folders.values():
        folder.mkdir()
    if not SIDE_BY_SIDE:
        return {name: run_contender(name, seed, folder) for name, folder in folders.items()}
    from concurrent.futures import ThreadPoolExecutor

    cores = sorted(os.sched_getaffinity(0))
    assert len(cores) >= len(CHOSEN), f"side by side, {len(CHOSEN)} contenders need as many cores: {cores}"
    with ThreadPoolExecutor(len(CHOSEN)) as pool:
        pinned = zip(CHOSEN, cores, strict=False)  # the first len(CHOSEN) cores
        running = {name: pool.submit(run_contender, name, seed, folders[name], core) for name, core in pinned}
        return {name: future.result() for name, future in running.items()}


def run_contender(name: str, seed: int, folder: Path, core: int | None = None) -> tuple[list[tuple], int]:
    """The contender's best-so-far points (seconds since its command started, best, trial), and the epochs its
    trials trained within the budget (fused or alone, kept or pruned): how much training its time bought.
    ``core``: the one core its command may use (taskset), where contenders run side by side."""
    from sweep.results import open_storage
    from sweep.results.anytime import best_reported, best_so_far

    command, study_name, env = CONTENDERS[name]
    assert PROBLEM == "notes" or name not in NOTES_ONLY, f"{name!r} runs on the notes problem only"
    study_name = study_name or PROBLEM_STUDY
    assert not (MAX_TRAIN and study_name == "naive"), "the hand-written loop trains on all the data: no --max-train"
    # SQLite serialises writers, so sweep refuses it for several workers; they share a journal file
    url = f"journal:///{folder / 'study.log'}" if "--workers" in command else f"sqlite:///{folder / 'study.db'}"
    space = variant_space(study_name, folder) if study_name in SPACE_VARIANTS else None
    filled = [part.format(url=url, budget=f"{BUDGETS[-1]:g}", seed=seed, space=space) for part in command]
    started = datetime.datetime.now()
    assert name != "sweep (candidate)" or CANDIDATE, "sweep (candidate) runs SWEEP_BENCH_CANDIDATE's code: set it"
    own_code = [CANDIDATE] if name == "sweep (candidate)" else []  # found before the installed sweep
    builders = os.pathsep.join([*own_code, str(ROOT / "tests" / "builders"), os.environ.get("PYTHONPATH", "")])
    environment = {**os.environ, "PYTHONPATH": builders, **env}  # `own`'s module:function
    pinned = ["taskset", "-c", str(core)] if core is not None else []
    process = subprocess.Popen([*pinned, sys.executable, *filled], cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment, start_new_session=True)  # fmt: skip
    try:
        _, stderr = process.communicate(timeout=BUDGETS[-1] + GRACE_S)
        assert process.returncode == 0, f"{name}: {stderr[-3000:]}"
    except subprocess.TimeoutExpired:  # a trial started just before the deadline (KerasTuner's can last minutes)
        os.killpg(process.pid, signal.SIGKILL)  # what finished is stored; a trial left running counts nowhere
        process.communicate()
    study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    return best_so_far(study, started=started, budget_s=BUDGETS[-1], score=best_reported), epochs_within(study, started)


def epochs_within(study, started: datetime.datetime) -> int:
    """Epochs trained by the trials that finished within the budget. A trial that KerasTuner's Hyperband continued
    from an earlier one (``continued_from``), and a PBT child (``pbt_epoch``), store the earlier one's epochs as
    their first: only those after count."""
    trials = study.get_trials(deepcopy=False)
    reported = {trial.number: len(trial.intermediate_values) for trial in trials}
    return sum(
        len(trial.intermediate_values)
        - reported.get(trial.user_attrs.get("continued_from"), 0)
        - trial.user_attrs.get("pbt_epoch", 0)
        for trial in trials
        if trial.datetime_complete and (trial.datetime_complete - started).total_seconds() <= BUDGETS[-1]
    )


def variant_space(name: str, folder: Path) -> str:
    """The variant's space file (a built-in one with the variant's change), written into ``folder``."""
    import yaml

    source, params, kept, again = SPACE_VARIANTS[name]
    document = yaml.safe_load(source.read_text())
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


def summarise(points: dict[tuple[str, int], list[tuple]], baseline: float, epochs: dict) -> pd.DataFrame:
    """Per run: when its first model finished, and its first model above the baseline (a pruned trial's weak
    first epochs count as a result, so the first result alone can flatter), its best per budget, when it reached
    each target."""
    from sweep.results.anytime import seconds_to_reach

    rows = []
    for (name, seed), curve in points.items():
        row = {"contender": name, "seed": seed, "s to first result": curve[0][0] if curve else float("nan")}
        row["s to beat the baseline"] = seconds_to_reach(curve, baseline + 1e-9)
        row["epochs trained"] = epochs[(name, seed)]
        for budget in BUDGETS:
            within = [best for seconds, best, _ in curve if seconds <= budget]
            row[f"best at {budget / 60:g} min"] = max(within) if within else float("nan")
        for target in TARGETS:
            row[f"s to {target}"] = seconds_to_reach(curve, target)
        rows.append(row)
    return with_seconds_to_the_best_peer(pd.DataFrame(rows), points)


def with_seconds_to_the_best_peer(runs: pd.DataFrame, points: dict[tuple[str, int], list[tuple]]) -> pd.DataFrame:
    """The issue's yardstick of speed: when each run first reached the best peer's mean best at the longest
    budget (the peers: the contenders other than sweep's), to set beside the peer's own time."""
    from sweep.results.anytime import seconds_to_reach

    peers = runs[~runs["contender"].str.startswith("sweep")]
    target = peers.groupby("contender")[f"best at {BUDGETS[-1] / 60:g} min"].mean().max()
    if pd.isna(target):  # no peer ran, or none finished a trial
        return runs
    reached = [
        seconds_to_reach(points[(name, seed)], target)
        for name, seed in runs[["contender", "seed"]].itertuples(index=False)
    ]
    return runs.assign(**{f"s to the best peer's mean {target:.4f}": reached})


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
        line = {
            "contender": name,
            "seeds": len(group),
            "median s to first result": _median_seconds(group["s to first result"]),
            "median s to beat the baseline": _median_seconds(group["s to beat the baseline"]),
            "epochs trained": f"{group['epochs trained'].mean():.0f}",
        }
        for budget in BUDGETS:
            column = group[f"best at {budget / 60:g} min"].dropna()  # a seed with no trial finished has no best
            shown = f"{column.mean():.4f} ± {column.std():.4f}" if len(column) else "none finished"
            line[f"best at {budget / 60:g} min"] = f"{shown} ({len(column)}/{len(group)})"
        for column in [f"s to {target}" for target in TARGETS] + [c for c in runs if c.startswith("s to the best")]:
            line[f"median {column}"] = _median_seconds(group[column], never="not reached")
        lines.append(line)
    return pd.DataFrame(lines)


def _median_seconds(column: pd.Series, never: str = "never") -> str:
    """The median over the seeds, a seed that never got there counting as later than any that did (so more than
    half of them never: ``never``), and how many did."""
    median = column.fillna(float("inf")).median()
    shown = f"{median:.0f} s" if median != float("inf") else never
    return f"{shown} ({column.notna().sum()}/{len(column)})"


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
    values = [value for curve in points.values() for _, value, _ in curve]
    top = max(values, default=0.91) + 0.005
    axes.set_ylim(min(top - 0.07, (baseline or 1) - 0.005), top)  # the baseline line inside the plot
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def test_anytime(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_CACHE_DIR", str(tmp_path / "cache"))  # the baseline once, as a returning user has it
    measured = commit(ROOT)  # now: commits made while it runs must not be named
    if CANDIDATE:
        measured += f" (sweep (candidate): {commit(Path(CANDIDATE))})"
    baseline = _baseline()
    reference_s = reference_model_seconds()
    points: dict[tuple[str, int], list[tuple]] = {}
    epochs: dict[tuple[str, int], int] = {}
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for seed in range(FIRST_SEED, FIRST_SEED + SEEDS):  # seed by seed, so drifts in speed hit all contenders alike
        for name, (curve, trained) in run_seed(seed, tmp_path).items():
            points[(name, seed)], epochs[(name, seed)] = curve, trained
        curves_of(points).to_csv(REFERENCE / f"{TABLE}-curves.csv", index=False)  # kept if a later run breaks
    runs = summarise(points, baseline, epochs)
    data = f"the first {MAX_TRAIN} training images" if MAX_TRAIN else "full data"
    REFERENCE.mkdir(parents=True, exist_ok=True)
    runs.to_csv(REFERENCE / f"{TABLE}-runs.csv", index=False)
    curves_of(points).to_csv(REFERENCE / f"{TABLE}-curves.csv", index=False)
    plot(points, baseline, REFERENCE / f"{TABLE}.png")
    budgets = ", ".join(f"{b / 60:g} min = {b / reference_s:.0f} reference-model trainings" for b in BUDGETS)
    write_table(
        TABLE,
        f"Anytime quality: best val_accuracy so far against wall-clock time, {PROBLEM} problem, {data}",
        table_of(runs),
        f"Measured pinned to core(s) {sorted(os.sched_getaffinity(0))} of this {os.cpu_count()}-core machine "
        f"(taskset){SIDE_BY_SIDE_NOTE if SIDE_BY_SIDE else ''}; "
        f"code at commit {measured}. "
        f"{SEEDS} seed(s) per contender ({FIRST_SEED}...), mean ± sd across seeds; the median seconds to a "
        "target count a seed that never reached it as later than all that did (how many did: in brackets). "
        "Clocks start with each command; only trials "
        "finished within the budget count; every trial that made a model is scored on its best epoch, a pruned one "
        "too, as sweep's table and `sweep best` rank it (KerasTuner's trials all complete; the loop's best is read "
        "from the curve it reports). In this run the notes' "
        f"reference model trained 5 epochs in {reference_s:.1f} s, so the budgets were {budgets}. "
        f"SGDClassifier baseline on the same split: {baseline:.4f}. Contenders run: {', '.join(CHOSEN)}. "
        "Epochs trained: the epochs trained by a contender's trials that finished within the budget (a trial "
        "Hyperband continued counts only the epochs after its parent's), mean over "
        f"seeds.{unfinished(points)} Per-seed rows: {TABLE}-runs.csv; the curves: {TABLE}.png.",
    )
    assert any(points.values()), "no contender finished a trial within the budget: give it a longer one"


def unfinished(points: dict[tuple[str, int], list[tuple]]) -> str:
    """The runs that finished no trial within the budget, in words: a result of a slow hour, not an error."""
    empty: dict[str, list[int]] = {}
    for (name, seed), curve in points.items():
        if not curve:
            empty.setdefault(name, []).append(seed)
    runs = "; ".join(f"{name} (seed {', '.join(map(str, seeds))})" for name, seeds in empty.items())
    return f" Finished no trial within the budget: {runs}." if runs else ""


def _baseline() -> float:
    from sweep.data import DataSource, compute_baseline

    source = DataSource()
    figures = compute_baseline(source.split(MAX_TRAIN), source, cross_validated=False)
    return figures["val_accuracy"]  # as each contender's run has it


def commit(checkout: Path) -> str:
    """The code measured: the checkout's HEAD, marked when its working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "sweep", "tests"], cwd=checkout, capture_output=True, text=True
    )
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")
