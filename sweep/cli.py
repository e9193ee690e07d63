"""The ``sweep`` command line. It prints; the library only logs.

Heavy imports stay inside the commands that train, so ``sweep --help``, ``sweep table``
and ``sweep best`` start without TensorFlow.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import click

from sweep import signals
from sweep.storage import DEFAULT_STORAGE, mask

DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


class UserError(click.ClickException):
    """A one-line error for the user; exit code 2 for a bad search space, 1 otherwise."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"sweep: error: {self.format_message()}", err=True)


class Duration(click.ParamType):
    """Seconds from '8h', '90m', '45s', '1h30m' or plain seconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        match = DURATION.match(str(value))
        if not match or not any(match.groups()):
            self.fail(f"{value!r} is not a duration; use e.g. 8h, 90m, 45s, 1h30m or seconds", param, ctx)
        hours, minutes, seconds = (float(group or 0) for group in match.groups())
        return hours * 3600 + minutes * 60 + seconds


def user_errors(function):
    """Turn the library's known errors into one line and a non-zero exit, never a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from sweep.data import DatasetError
        from sweep.driver import SweepStopped
        from sweep.export import ExportError
        from sweep.space import SpaceError
        from sweep.storage import StorageError

        try:
            return function(*args, **kwargs)
        except SpaceError as error:
            raise UserError(str(error), exit_code=2) from None
        except (DatasetError, StorageError, ExportError, SweepStopped, ValueError) as error:
            raise UserError(str(error)) from None

    return wrapper


storage_option = click.option("--storage", default=None, help=f"Optuna storage URL [default: {DEFAULT_STORAGE}].")
study_option = click.option("--study", default=None, help="Study name [default: the space's name, e.g. notes].")
data_options = [
    click.option(
        "--data-dir", envvar="SWEEP_DATA_DIR", default=None, help="Folder with the four Fashion-MNIST .gz files."
    ),
    click.option("--max-train", type=click.IntRange(min=1), default=None, help="Use only the first N training images."),
]


def with_data_options(function):
    for option in reversed(data_options):
        function = option(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="sweep")
def main() -> None:
    """Hyperparameter sweeps for Keras models on Fashion-MNIST, driven by Optuna."""


@main.command()
@click.option("--space", default="notes", help="Search-space file, or a name from search_spaces/.")
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=20,
    help="Total finished trials the study should hold; a resumed study only runs the missing ones.",
)
@click.option("--timeout", type=Duration(), default=None, help="Wall-clock budget for this run: 8h, 90m, 45s, 3600.")
@storage_option
@study_option
@click.option("--sampler", type=click.Choice(["tpe", "random"]), default="tpe")
@click.option("--pruner", type=click.Choice(["median", "hyperband", "none"]), default="median")
@click.option("--seed", type=int, default=42, help="Sampler seed.")
@click.option(
    "--max-failures", type=click.IntRange(min=1), default=5, help="Stop after this many failed trials in a row."
)
@click.option("--top", type=int, default=10, help="Rows of the final table.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, help="Worker processes on this machine (shared storage)."
)
@click.option(
    "--engine",
    type=click.Choice(["optuna", "keras-tuner"]),
    default="optuna",
    help="Search engine; both store their trials in the same Optuna study.",
)
@click.option(
    "--tuner", type=click.Choice(["hyperband", "random", "bayesian"]), default="hyperband", help="KerasTuner's tuner."
)
@with_data_options
@user_errors
def run(
    space,
    trials,
    timeout,
    storage,
    study,
    sampler,
    pruner,
    seed,
    max_failures,
    top,
    workers,
    engine,
    tuner,
    data_dir,
    max_train,
):
    """Run (or resume) a sweep, then print the ranked table."""
    from sweep.driver import SweepSettings, run_sweep
    from sweep.progress import Progress, setup_logging
    from sweep.space import load_space

    settings = SweepSettings(
        space=space,
        storage=storage,
        study=study,
        trials=trials,
        timeout=timeout,
        sampler=sampler,
        pruner=pruner,
        seed=seed,
        max_train=max_train,
        data_dir=data_dir,
        max_failures=max_failures,
    )
    study_name = settings.study_name(load_space(space))
    log_file = Path("results") / f"{study_name}.log"
    click.echo(f"sweep: study {study_name!r} in {mask(storage or DEFAULT_STORAGE)}", err=True)
    if workers > 1 and engine == "keras-tuner":
        raise UserError("--workers starts Optuna workers; --engine keras-tuner searches in one process")
    if workers > 1:
        _run_workers(settings, workers, log_file, study_name, top)
        return
    setup_logging(log_file)
    signals.install()
    try:
        if engine == "keras-tuner":
            from sweep.tuner import run_keras_tuner

            run_keras_tuner(settings, tuner, callbacks=[Progress(timeout, trials)])
        else:
            run_sweep(settings, callbacks=[Progress(timeout, trials)])
    except KeyboardInterrupt as stop:
        stop = stop if isinstance(stop, signals.Interrupted) else signals.Interrupted(signal.SIGINT)
        click.echo(
            f"sweep: stopped by {stop}; the interrupted trial is stored as failed and retried on resume. "
            "Run the same command again to continue.",
            err=True,
        )
        _print_table(study_name, storage, top)
        sys.exit(stop.exit_code)
    _print_table(study_name, storage, top)


def _run_workers(settings, workers: int, log_file: Path, study_name: str, top: int) -> None:
    from sweep.progress import setup_logging
    from sweep.workers import run_workers

    setup_logging(log_file)
    code = run_workers(settings, workers, log_file)
    if code in signals.EXIT_CODES.values():
        click.echo("sweep: stopped; each worker stored its interrupted trial as failed. Run again to resume.", err=True)
    _print_table(study_name, settings.storage, top)
    sys.exit(code)


def _print_table(study_name: str, storage: str | None, top: int | None, **options) -> None:
    from sweep.results import render

    click.echo(render(_shown(_table(study_name, storage, **options), top), options.get("fmt", "text")))


def _shown(table, top: int | None):
    from sweep.results import baseline_rank

    rank = baseline_rank(table)
    shown = table.head(top) if top else table
    if rank and top and rank > top:  # keep the baseline visible whatever the cut
        shown = table[(table.index < top) | (table["state"] == "BASELINE")]
    return shown


def _print_studies(study_names: tuple[str, ...], storage: str | None, top: int | None, **options) -> None:
    """Several studies' tables one after the other, each cut to ``top``, with a leading study column."""
    import pandas as pd

    from sweep.results import render

    tables = [_shown(_table(name, storage, **options), top).assign(study=name) for name in study_names]
    combined = pd.concat(tables, ignore_index=True)
    combined = combined[["study", *[column for column in combined.columns if column != "study"]]]
    click.echo(render(combined, options.get("fmt", "text")))


def _table(study_name: str, storage: str | None, fmt: str = "text", states=None, sort=None, where=None):
    from sweep.results import trials_table

    table = trials_table(_load_study(study_name, storage), states)
    if where:
        table = table.query(where)
    if sort:
        table = table.sort_values(sort, ascending=False, na_position="last")
    return table


def _load_study(study_name: str | None, storage: str | None):
    import optuna

    from sweep.export import ExportError
    from sweep.storage import open_storage

    opened = open_storage(storage)
    names = [summary.study_name for summary in optuna.get_all_study_summaries(opened, include_best_trial=False)]
    name = study_name or ("notes" if "notes" in names or len(names) != 1 else names[0])
    if name not in names:
        raise ExportError(f"no study {name!r} in {mask(storage or DEFAULT_STORAGE)}; studies there: {names or 'none'}")
    return optuna.load_study(study_name=name, storage=opened)


@main.command()
@click.option(
    "--study",
    "studies",
    multiple=True,
    help="Study name; repeat it (--study a --study b) to show studies side by side [default: notes].",
)
@storage_option
@click.option("--top", type=int, default=None, help="Only the N best rows (the baseline row always shows).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "markdown", "json", "html"]), default="text")
@click.option("--state", type=click.Choice(["complete", "pruned", "failed", "all"]), default="all")
@click.option("--sort", default=None, help="Sort by this column instead of rank.")
@click.option("--where", default=None, help="""A pandas query, e.g. 'optimizer == "adam"'.""")
@user_errors
def table(studies, storage, top, fmt, state, sort, where):
    """The ranked table of a study, against the SGDClassifier baseline."""
    states = None if state == "all" else ({"failed": "FAIL"}.get(state, state.upper()),)
    if len(studies) > 1:
        _print_studies(studies, storage, top, fmt=fmt, states=states, sort=sort, where=where)
        return
    _print_table(studies[0] if studies else None, storage, top, fmt=fmt, states=states, sort=sort, where=where)


@main.command()
@study_option
@storage_option
@click.option("--out", type=click.Path(dir_okay=False), default="results/best.json")
@user_errors
def best(study, storage, out):
    """Write the best trial's config, metric and package versions to a JSON file."""
    from sweep.export import best_record, write_json

    record = best_record(_load_study(study, storage))
    path = write_json(record, out)
    click.echo(f"trial {record['trial']} of {record['study']!r}: val_accuracy {record['val_accuracy']:.4f} -> {path}")


@main.command()
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--test", is_flag=True, help="Also evaluate once on the 10,000 test images.")
@with_data_options
@user_errors
def train(config_file, test, data_dir, max_train):
    """Retrain a config (from `sweep best`) and print its validation accuracy."""
    from sweep.export import read_config, retrain

    config, seed = read_config(config_file)
    metrics = retrain(config, data_dir, max_train, with_test=test, seed=seed)
    click.echo(
        f"val_accuracy {metrics['val_accuracy']:.4f}  ({metrics['train_images']} training images, "
        f"{metrics['epochs']} epochs, {metrics['fit_seconds']:.1f} s)"
    )
    if test:
        click.echo(f"TEST accuracy {metrics['test_accuracy']:.4f}  (10,000 test images, evaluated once)")


@main.command()
@with_data_options
@user_errors
def baseline(data_dir, max_train):
    """The SGDClassifier baseline: the notes' 5-fold CV score and our validation split's."""
    from sweep.baseline import compute_baseline
    from sweep.data import load_split

    figures = compute_baseline(load_split(data_dir, max_train), data_dir)
    click.echo(f"SGDClassifier 5-fold cross-validated accuracy (60,000 images): {figures['cv_accuracy']:.4f}")
    click.echo(
        f"SGDClassifier validation accuracy ({figures['train_images']} training images): {figures['val_accuracy']:.4f}"
    )


@main.command()
@click.option("--space", default="notes", help="Search-space file, or a name from search_spaces/.")
@click.option("--budget", type=Duration(), default="10m", help="Wall-clock budget per engine: 10m, 1h, 600.")
@click.option(
    "--engines",
    default="optuna,keras-tuner:hyperband,keras-tuner:random",
    help="Comma-separated: optuna, keras-tuner:hyperband, keras-tuner:random, keras-tuner:bayesian.",
)
@storage_option
@click.option("--seed", type=int, default=42, help="Sampler seed, the same for every engine.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "markdown", "json"]), default="text")
@with_data_options
@user_errors
def compare(space, budget, engines, storage, seed, fmt, data_dir, max_train):
    """Optuna against KerasTuner: the same budget and data for each engine; print the comparison.

    Each engine runs in a study of its own, SPACE-compare-ENGINE, replaced on every run. The table gives
    the best val_accuracy, the trials completed and the seconds until a trial first beat the baseline.
    """
    from sweep.compare import compare as compare_engines
    from sweep.progress import setup_logging
    from sweep.results import render

    setup_logging(Path("results") / "compare.log")
    signals.install()
    names = [name for name in engines.split(",") if name.strip()]
    try:
        table = compare_engines(space, budget, names, storage, max_train, data_dir, seed)
    except KeyboardInterrupt as stop:
        click.echo("sweep: compare stopped by a signal; each engine's study keeps the trials it finished.", err=True)
        sys.exit(getattr(stop, "exit_code", 130))
    click.echo(render(table, fmt))
    if fmt in ("text", "markdown"):
        click.echo(
            f"\nSGDClassifier baseline val_accuracy {table.attrs['baseline_val_accuracy']:.4f} on the same split; "
            f"budget {budget:.0f} s per engine, checked between trials (wall_s includes the last trial)."
        )


@main.command()
@user_errors
def spaces():
    """List the search spaces in search_spaces/."""
    from sweep.space import available_spaces

    for space in available_spaces():
        click.echo(f"{space.name:<12} {space.description}")


@main.group()
def space():
    """Inspect search spaces."""


@space.command("show")
@click.argument("name")
@user_errors
def space_show(name):
    """Print a space's parameters and its number of combinations when finite."""
    from sweep.space import load_space

    loaded = load_space(name)
    click.echo(f"{loaded.name}: {loaded.description}  ({loaded.path})")
    for param in loaded.params.values():
        click.echo(f"  {param.name:<14} {_describe(param)}")
    size = loaded.size()
    click.echo(f"combinations: {size:,}" if size else "combinations: infinite (continuous parameters)")


def _describe(param) -> str:
    if param.fixed:
        text = f"fixed {param.value}"
    elif param.type in ("int", "float"):
        text = f"{param.type} [{param.low}, {param.high}]" + (" log" if param.log else "")
        text += f" step {param.step}" if param.step else ""
    else:
        text = f"{param.type} {list(param.choices)}"
    text += " per layer" if param.per_layer else ""
    conditions = ", ".join(f"{parent} in {list(values)}" for parent, values in param.when)
    return text + (f"  when {conditions}" if conditions else "")


@main.command()
@study_option
@storage_option
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="[default: results/STUDY/report.html]")
@user_errors
def report(study, storage, out):
    """Write one self-contained HTML page: ranked table, history, importances, curves. Prints its path."""
    from sweep.report import write_report

    loaded = _load_study(study, storage)
    click.echo(write_report(loaded, out or Path("results") / loaded.study_name / "report.html"))


DASHBOARD_HOST = "127.0.0.1"  # loopback only: the dashboard can edit studies and has no login


@main.command()
@study_option
@storage_option
@click.option(
    "--port", type=click.IntRange(min=0, max=65535), default=8080, help="Port on 127.0.0.1; 0 picks a free one."
)
@user_errors
def dashboard(study, storage, port):
    """Browse a study in optuna-dashboard on 127.0.0.1; runs until Ctrl-C."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from optuna_dashboard import wsgi

    from sweep.storage import open_storage

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:  # the page polls every few seconds; keep the terminal readable
            pass

    name = _load_study(study, storage).study_name
    opened = open_storage(storage)
    try:  # bind first, so the address printed is one that answers
        server = make_server(DASHBOARD_HOST, port, wsgi(opened), handler_class=Quiet)
    except OSError as error:
        reason = error.strerror or error
        raise UserError(f"cannot listen on {DASHBOARD_HOST}:{port} ({reason}): pick another --port") from None
    address = f"http://{DASHBOARD_HOST}:{server.server_port}/dashboard/studies/{opened.get_study_id_from_name(name)}"
    click.echo(f"optuna-dashboard for study {name!r}: {address}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("sweep: dashboard stopped", err=True)
    finally:
        server.server_close()


@main.command()
@study_option
@storage_option
@click.option("--out", type=click.Path(file_okay=False), default=None, help="[default: results/STUDY/export]")
@with_data_options
@user_errors
def export(study, storage, out, data_dir, max_train):
    """Export the best trial: config.json/.yaml, train_best.py, model.keras, metrics.json (test set once)."""
    from sweep.export import export_best

    loaded = _load_study(study, storage)
    folder = Path(out or Path("results") / loaded.study_name / "export")
    metrics = export_best(loaded, folder, data_dir, max_train)
    click.echo(
        f"trial {metrics['trial']} of {metrics['study']!r} -> {folder}/  "
        f"(config.json, config.yaml, train_best.py, model.keras, metrics.json)"
    )
    click.echo(
        f"val_accuracy {metrics['val_accuracy']:.4f} retrained ({metrics['train_images']} training images; "
        f"the sweep measured {metrics['sweep_val_accuracy']:.4f})"
    )
    click.echo(f"TEST accuracy {metrics['test_accuracy']:.4f}  (10,000 test images, evaluated once)")
