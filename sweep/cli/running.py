"""Commands that train: run, compare, train, baseline."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import click

from sweep import signals
from sweep.cli.app import (
    DEFAULT_STORAGE,
    Duration,
    FuseSize,
    UserError,
    main,
    mask,
    print_table,
    storage_option,
    study_option,
    user_errors,
    with_data_options,
)
from sweep.native import load_keras_quietly
from sweep.vocabulary import ENGINES, TUNER_NAMES, parse_engine

STARTED_ENV = "SWEEP_RUN_STARTED"  # wall-clock start of a run, handed to the process that continues it


def _engine_list(ctx, param, value: str) -> list[str]:
    """``--engines a,b``, each checked before anything heavy loads."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names or [value]:
        try:
            parse_engine(name)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
    return names


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
@click.option("--seed", type=click.IntRange(min=0), default=42, help="Sampler seed.")
@click.option(
    "--max-failures", type=click.IntRange(min=1), default=5, help="Stop after this many failed trials in a row."
)
@click.option("--top", type=click.IntRange(min=1), default=10, help="Rows of the final table.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, help="Worker processes on this machine (shared storage)."
)
@click.option(
    "--engine",
    type=click.Choice(["optuna", "keras-tuner"]),
    default="optuna",
    help="Search engine; both store their trials in the same Optuna study.",
)
@click.option("--tuner", type=click.Choice(TUNER_NAMES), default="hyperband", help="KerasTuner's tuner.")
@click.option(
    "--recycle-after",
    type=click.IntRange(min=0),
    default=50,
    help="Trials per process before a fresh process continues (bounds memory); 0 never recycles.",
)
@click.option(
    "--fuse",
    type=FuseSize(),
    default="auto",
    help="Trials trained together as one Keras program: a number, or auto (8 on CPU, 64 on a GPU); 1: one at a time.",
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
    recycle_after,
    fuse,
    data_dir,
    max_train,
):
    """Run (or resume) a sweep, then print the ranked table."""
    from sweep.devices import resolve_fuse, share_gpu_memory
    from sweep.driver import Recycle, SweepSettings, run_sweep
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
        recycle_after=recycle_after,
        fuse=resolve_fuse(fuse) if engine == "optuna" else 1,
        started=float(os.environ.get(STARTED_ENV, time.time())),  # set when a recycled process continues
    )
    share_gpu_memory()
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
        with progress_callbacks(Progress(timeout, trials, settings.started)) as callbacks:
            if engine == "keras-tuner":
                load_keras_quietly()  # sweep.tuner imports Keras at once; Optuna's path loads it at the first fit
                from sweep.tuner import run_keras_tuner

                run_keras_tuner(settings, tuner, callbacks=callbacks)
            else:
                run_sweep(settings, callbacks=callbacks)
    except Recycle as handover:
        _continue_in_a_fresh_process(settings, handover)
    except KeyboardInterrupt as stop:
        stop = stop if isinstance(stop, signals.Interrupted) else signals.Interrupted(signal.SIGINT)
        fate = (
            "KerasTuner reruns the interrupted trial on resume"
            if engine == "keras-tuner"
            else "the interrupted trials are stored as failed and retried on resume"
        )
        click.echo(f"sweep: stopped by {stop}; {fate}. Run the same command again to continue.", err=True)
        print_table(study_name, storage, top)
        sys.exit(stop.exit_code)
    print_table(study_name, storage, top)


@contextlib.contextmanager
def progress_callbacks(line):
    """The per-trial log line, and in a terminal a live bar below the lines (logs to a file keep only lines)."""
    from sweep.progress import ProgressBar, wants_bar

    if not wants_bar():
        yield [line]
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    bar = ProgressBar(line)
    try:
        with logging_redirect_tqdm():
            yield [line, bar]
    finally:
        bar.close()


def _continue_in_a_fresh_process(settings, handover) -> None:
    """Replace this process by the same command: the study in storage says where to go on."""
    import logging

    logging.getLogger("sweep").info("recycling the process after %s, to keep memory bounded", handover)
    logging.shutdown()
    os.environ[STARTED_ENV] = str(settings.started)  # the timeout keeps counting from the first start
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def _run_workers(settings, workers: int, log_file: Path, study_name: str, top: int) -> None:
    from sweep.progress import setup_logging
    from sweep.workers import run_workers

    setup_logging(log_file)
    code = run_workers(settings, workers, log_file)
    if code in signals.EXIT_CODES.values():
        click.echo("sweep: stopped; each worker stored its interrupted trial as failed. Run again to resume.", err=True)
    print_table(study_name, settings.storage, top)
    sys.exit(code)


@main.command()
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--test", is_flag=True, help="Also evaluate once on the 10,000 test images.")
@with_data_options
@user_errors
def train(config_file, test, data_dir, max_train):
    """Retrain a config (from `sweep best`) and print its validation accuracy."""
    from sweep.export import read_config, read_data_order, recorded_data, retrain

    config, seed = read_config(config_file)
    data_dir = recorded_data(config_file, data_dir)  # a `sweep best` file names the .npz its study ran on
    order = read_data_order(config_file)  # a fused trial's batches, in the order it saw them
    metrics = retrain(config, data_dir, max_train, with_test=test, seed=seed, order=order)
    click.echo(
        f"val_accuracy {metrics['val_accuracy']:.4f}  ({metrics['train_images']} training images, "
        f"{metrics['epochs']} epochs, {metrics['fit_seconds']:.1f} s)"
    )
    if test and "test_accuracy" in metrics:
        click.echo(f"TEST accuracy {metrics['test_accuracy']:.4f}  (the test set, evaluated once)")
    elif test:
        click.echo("no test set in the data (x_test, y_test): test accuracy left out")


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
    callback=_engine_list,
    help=f"Comma-separated: {', '.join(ENGINES)}.",
)
@storage_option
@click.option("--seed", type=click.IntRange(min=0), default=42, help="Sampler seed, the same for every engine.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "markdown", "json"]), default="text")
@click.option("--fuse", type=FuseSize(), default="auto", help="Optuna's group size, as in `sweep run --fuse`.")
@with_data_options
@user_errors
def compare(space, budget, engines, storage, seed, fmt, fuse, data_dir, max_train):
    """Optuna against KerasTuner: the same budget and data for each engine; print the comparison.

    Each engine runs in a study of its own, SPACE-compare-ENGINE, replaced on every run. The table gives
    the best val_accuracy, the trials completed and the seconds until a trial first beat the baseline.
    """
    from sweep.progress import setup_logging
    from sweep.space import load_space

    load_space(space)  # a broken space is refused before TensorFlow loads
    setup_logging(Path("results") / "compare.log")
    load_keras_quietly()
    from sweep.compare import compare as compare_engines
    from sweep.results import render

    signals.install()
    try:
        table = compare_engines(space, budget, engines, storage, max_train, data_dir, seed, fuse=fuse)
    except KeyboardInterrupt as stop:
        click.echo("sweep: compare stopped by a signal; each engine's study keeps the trials it finished.", err=True)
        sys.exit(getattr(stop, "exit_code", 130))
    click.echo(render(table, fmt))
    if fmt in ("text", "markdown"):
        click.echo(
            f"\nSGDClassifier baseline val_accuracy {table.attrs['baseline_val_accuracy']:.4f} on the same split; "
            f"budget {budget:.0f} s per engine, checked between trials (wall_s includes the last trial)."
        )
