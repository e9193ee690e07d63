"""Commands that train: run, compare, train, baseline."""

from __future__ import annotations

import os
import sys
import time

import click

from sweep import api
from sweep.cli.app import (
    Duration,
    fuse_size,
    main,
    print_table,
    space_option,
    storage_option,
    study_option,
    user_errors,
    with_data_options,
)

STARTED_ENV = "SWEEP_RUN_STARTED"  # wall-clock start of a run, handed to the process that continues it


model_option = click.option(
    "--model",
    default=None,
    help="A model builder of your own, module:function: build(config, input_shape, classes) -> keras.Model "
    "ending in class probabilities [default: the space file's model:, else sweep's Dense/Conv models].",
)


def _engine_list(ctx, param, value: str) -> list[str]:
    """``--engines a,b``, each checked before anything heavy loads."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names or [value]:
        try:
            api.parse_engine(name)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
    return names


@main.command()
@space_option
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=None,
    help="Total finished trials the study should hold; a resumed study only runs the missing ones "
    "[default: 20; with --timeout, no count: the run goes on until the deadline].",
)
@click.option(
    "--timeout",
    type=Duration(),
    default=None,
    help="Wall-clock budget for this run (8h, 90m, 45s, 3600); with --trials, whichever comes first.",
)
@storage_option
@study_option
@click.option("--sampler", type=click.Choice(api.SAMPLERS), default="tpe")
@click.option("--pruner", type=click.Choice(api.PRUNERS), default="median")
@click.option(
    "--prune-hopeless/--no-prune-hopeless",
    default=None,
    help="Also prune a trial still 10 points below the SGDClassifier baseline after 2 epochs; on by default with "
    "the median, patient, curve and asha pruners.",
)
@click.option(
    "--leaders-first/--no-leaders-first",
    default=False,
    help="A fused group takes no new trials while a running one leads the best trial at equal epochs.",
)
@click.option(
    "--grow/--no-grow",
    default=None,
    help="A fused group opens 2 places first, then one more for each finished trial, up to --fuse "
    "[default: on with --fuse auto].",
)
@click.option(
    "--epochs-budget/--drawn-epochs",
    default=False,
    help="With a held learning rate, epochs are found, not drawn: a trial trains up to the space's most epochs "
    "until pruned or 5 epochs without a better val_accuracy, and its best epoch is its number of epochs.",
)
@click.option(
    "--rate-cuts/--held-rate",
    default=None,
    help="Cut a held learning rate to 0.3 of itself after 2 epochs without a better val_accuracy (Keras's "
    "ReduceLROnPlateau), recorded in the trial's config; on by default with --engine optuna.",
)
@click.option(
    "--pbt/--no-pbt",
    default=False,
    help="Population-based training in fused groups: a place the pruner frees goes to a copy of the group's "
    "leading trial (its weights and optimizer state) with its rate times 0.8 or 1.25.",
)
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
@click.option("--tuner", type=click.Choice(api.TUNER_NAMES), default="hyperband", help="KerasTuner's tuner.")
@click.option(
    "--recycle-after",
    type=click.IntRange(min=0),
    default=50,
    help="Trials per process before a fresh process continues (bounds memory); 0 never recycles.",
)
@click.option(
    "--fuse",
    type=fuse_size(),
    default="auto",
    help="Trials trained together as one Keras program: a number, or auto (up to 8 on CPU and 64 on a GPU, as many "
    "as train an epoch within 10 s); 1: one at a time.",
)
@model_option
@click.option(
    "--warm-start",
    metavar="STUDY",
    default=None,
    help="A new study tries the best 5 configs of this earlier study (same storage) first, after the space's starts.",
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
    prune_hopeless,
    leaders_first,
    grow,
    epochs_budget,
    rate_cuts,
    pbt,
    seed,
    max_failures,
    top,
    workers,
    engine,
    tuner,
    recycle_after,
    fuse,
    model,
    warm_start,
    data_dir,
    max_train,
):
    """Run (or resume) a sweep, then print the ranked table."""
    name = api.study_name(space, study, model)  # a broken space is refused here, before anything heavy loads
    started = float(os.environ.get(STARTED_ENV, time.time()))  # set when a recycled process continues
    api.signals.install()
    try:
        api.run(
            space, trials, timeout, data=data_dir, storage=storage, study=study, sampler=sampler, pruner=pruner,
            prune_hopeless=prune_hopeless, leaders_first=leaders_first, grow=grow, epochs_budget=epochs_budget,
            rate_cuts=rate_cuts, pbt=pbt,
            seed=seed, max_train=max_train, max_failures=max_failures, fuse=fuse, engine=engine, tuner=tuner,
            workers=workers, recycle_after=recycle_after, console=True, model=model, started=started,
            warm_start=warm_start,
        )  # fmt: skip
    except api.Recycle as handover:
        _continue_in_a_fresh_process(handover, started)
    except KeyboardInterrupt as stop:
        code = getattr(stop, "exit_code", 130)
        fate = {
            "keras-tuner": "KerasTuner reruns the interrupted trial on resume",
            "optuna": "the interrupted trials are stored as failed and retried on resume",
        }[engine]
        click.echo(f"sweep: stopped by {stop or 'SIGINT'}; {fate}. Run the same command again to continue.", err=True)
        print_table(name, storage, top)
        sys.exit(code)
    print_table(name, storage, top)


def _continue_in_a_fresh_process(handover, started: float) -> None:
    """Replace this process by the same command: the study in storage says where to go on."""
    import logging

    logging.getLogger("sweep").info("recycling the process after %s, to keep memory bounded", handover)
    logging.shutdown()
    os.environ[STARTED_ENV] = str(started)  # the timeout keeps counting from the first start
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


@main.command()
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--test", is_flag=True, help="Also evaluate once on the 10,000 test images.")
@with_data_options
@user_errors
def train(config_file, test, data_dir, max_train):
    """Retrain a config (from `sweep best`) on its study's training rows and print its validation accuracy."""
    metrics = api.train(config_file, test, data_dir, max_train)
    click.echo(
        f"val_accuracy {metrics['val_accuracy']:.4f}  (on {metrics['train_rows']}; "
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
    figures = api.baseline(data_dir, max_train)
    click.echo(f"SGDClassifier 5-fold cross-validated accuracy (60,000 images): {figures['cv_accuracy']:.4f}")
    click.echo(
        f"SGDClassifier validation accuracy ({figures['train_images']} training images): {figures['val_accuracy']:.4f}"
    )


@main.command()
@space_option
@click.option("--budget", type=Duration(), default="10m", help="Wall-clock budget per engine: 10m, 1h, 600.")
@click.option(
    "--engines",
    default="optuna,keras-tuner:hyperband,keras-tuner:random",
    callback=_engine_list,
    help=f"Comma-separated: {', '.join(api.ENGINES)}.",
)
@storage_option
@click.option("--seed", type=click.IntRange(min=0), default=42, help="Sampler seed, the same for every engine.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "markdown", "json"]), default="text")
@click.option("--fuse", type=fuse_size(), default="auto", help="Optuna's group size, as in `sweep run --fuse`.")
@model_option
@with_data_options
@user_errors
def compare(space, budget, engines, storage, seed, fmt, fuse, model, data_dir, max_train):
    """Optuna against KerasTuner: the same budget and data for each engine; print the comparison.

    Each engine runs in a study of its own, SPACE-compare-ENGINE, replaced on every run. The table gives
    the best val_accuracy, the trials completed and the seconds until a trial first beat the baseline.
    """
    api.signals.install()
    try:
        table = api.compare(space, budget, engines, storage=storage, seed=seed, fuse=fuse, data=data_dir,
                            max_train=max_train, console=True, model=model)  # fmt: skip
    except KeyboardInterrupt as stop:
        click.echo("sweep: compare stopped by a signal; each engine's study keeps the trials it finished.", err=True)
        sys.exit(getattr(stop, "exit_code", 130))
    click.echo(api.render(table, fmt))
    if fmt in ("text", "markdown"):
        click.echo(
            f"\nSGDClassifier baseline val_accuracy {table.attrs['baseline_val_accuracy']:.4f} on the same split; "
            f"budget {budget:.0f} s per engine, checked between trials (wall_s includes the last trial)."
        )
