"""The public Python API: ``sweep.run``, ``sweep.load`` and ``Study``. The CLI's verbs call these.

Same defaults and the same storage as the CLI, so a study run in a terminal reads identically in a
notebook and the other way round. Reading a study (``load``, ``table``, ``best``, ``report``,
``figures``) never imports TensorFlow; ``run``, ``train`` and ``export`` do, when they train.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sweep._lazy import exports

RESULTS = Path("results")
STATES = {"all": None, "complete": ("COMPLETE",), "pruned": ("PRUNED",), "failed": ("FAIL",)}

# What both faces share from below, so that the CLI imports this module alone (resolved on first use).
__getattr__, _ = exports(
    __name__,
    {
        "DEFAULT_STORAGE": "sweep.results",
        "SCHEMES": "sweep.results",
        "ExportError": "sweep.results",
        "QueryError": "sweep.results",
        "StorageError": "sweep.results",
        "UnknownStudy": "sweep.results",
        "best_record": "sweep.results",
        "mask": "sweep.results",
        "open_storage": "sweep.results",
        "parse_duration": "sweep.results",
        "render": "sweep.results",
        "cut_to_top": "sweep.results",
        "scheme": "sweep.results",
        "write_json": "sweep.results",
        "DatasetError": "sweep.data",
        "SpaceError": "sweep.space",
        "available_spaces": "sweep.space",
        "load_space": "sweep.space",
        "ENGINES": "sweep.space",
        "TUNER_NAMES": "sweep.space",
        "parse_engine": "sweep.space",
        "Recycle": "sweep.search",
        "SweepStopped": "sweep.search",
        "SAMPLERS": "sweep.search",
        "PRUNERS": "sweep.search",
        "OptionConflict": "sweep.search",
        "signals": "sweep.training",
        "BuilderError": "sweep.training",
    },
)
DataArgument = Any  # None (Fashion-MNIST), a path (.npz, or a Fashion-MNIST folder), a dict or tuple of arrays


def run(
    space: Any = "notes",
    trials: int | None = None,
    timeout: str | float | None = None,
    *,
    data: DataArgument = None,
    storage: str | None = None,
    study: str | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    prune_hopeless: bool | None = None,
    leaders_first: bool = False,
    grow: bool | None = None,
    epochs_budget: bool = False,
    rate_cuts: bool | None = None,
    pbt: bool = False,
    seed: int = 42,
    max_train: int | str | None = None,
    max_failures: int = 5,
    fuse: int | str = "auto",
    progress: bool | None = None,
    engine: str = "optuna",
    tuner: str = "hyperband",
    workers: int = 1,
    recycle_after: int | None = None,
    console: bool = False,
    started: float | None = None,
    model: Any = None,
    warm_start: str | None = None,
) -> Study:
    """Run (or resume) a sweep, as ``sweep run`` does, and return its ``Study``.

    ``trials``: the finished trials the study should hold (a resumed study runs the missing ones). ``timeout`` takes
    '8h', '90m', '1h30m' or seconds. Given a timeout and no trial count, the run goes on until the deadline (as Optuna's
    ``optimize(n_trials=None, timeout=...)``); given both, it stops at whichever comes first; given neither, it runs 20
    trials. ``data``: None for Fashion-MNIST, the path of an .npz (x_train, y_train, optionally x_test, y_test), or
    those arrays as a dict or a tuple; arrays are saved under results/data/ so that the study can name them.
    ``progress``: a live bar (tqdm) and the per-trial log lines; by default when attached to a terminal or a notebook.
    ``fuse``, ``prune_hopeless``, ``leaders_first``, ``grow``, ``epochs_budget``, ``rate_cuts``, ``pbt``: as the
    ``sweep run`` options of those names (None: ``rate_cuts`` on with Optuna, ``grow`` with ``fuse='auto'``).
    ``engine``/``tuner``: Optuna, or KerasTuner's hyperband, random or bayesian. ``workers``: processes on this machine
    sharing the storage. ``recycle_after``: trials before a fresh process continues (raises ``Recycle``; the CLI's
    default is 50). ``console``: sweep's log lines on stderr as the CLI shows them. ``started``: the wall-clock start
    the timeout counts from. ``space``: a built-in space's name (``sweep spaces``), a YAML path, a dict of the file's
    shape, or a SearchSpace. ``model``: a builder of your own, ``build(config, input_shape, classes) -> keras.Model``
    ending in class probabilities, as a function or 'module:function'; the space's parameters are then its own names.
    ``warm_start``: an earlier study in the same storage whose best trials a new study tries first, after the space's
    own ``starts:``. Everything, Optuna's and TensorFlow's lines included, goes to results/STUDY.log.
    """
    from sweep.results import parse_duration
    from sweep.search import SweepSettings, budgeted_or_refused, check_options, cuts_or_refused, launch, trial_target
    from sweep.space import load_space
    from sweep.training import Builder

    check_options(engine, pruner, prune_hopeless, leaders_first, fuse, grow, epochs_budget, rate_cuts, pbt)
    seconds = parse_duration(timeout) if timeout is not None else None
    builder = Builder.of(model)
    loaded = load_space(space, builder.reference)  # a broken space is refused before anything heavy loads
    if epochs_budget:
        budgeted_or_refused(loaded)  # refused in one line where epochs is not a budget
    if rate_cuts:
        cuts_or_refused(loaded)  # refused in one line where every trial anneals its rate
    settings = SweepSettings(
        space=space,
        storage=storage,
        study=study,
        trials=trial_target(trials, seconds),
        timeout=seconds,
        sampler=sampler,
        pruner=pruner,
        prune_hopeless=prune_hopeless,
        leaders_first=leaders_first,
        grow=grow,
        epochs_budget=epochs_budget,
        rate_cuts=rate_cuts is not False and engine == "optuna",
        pbt=pbt,
        seed=seed,
        max_train=max_train,
        data=data_source(data),
        max_failures=max_failures,
        recycle_after=recycle_after,
        fuse=fuse if engine == "optuna" else 1,
        started=started or time.time(),  # the timeout counts from the call, as the CLI's from its command
        model=builder.reference,
        warm_start=load(warm_start, storage).best_configs() if warm_start else (),
    )
    settings.data.identity()  # a bad data file is refused here, before Optuna and TensorFlow load
    settings.builder(loaded).check_before_training(workers)
    log_file = RESULTS / f"{settings.study_name(loaded)}.log"
    optuna_study = launch(settings, engine, tuner, workers, progress=progress, console=console, log_file=log_file)
    return Study(optuna_study, storage)


def _log_to(log_file: Path) -> None:
    from sweep.search import setup_logging

    setup_logging(log_file, console=False)


def study_name(space: Any = "notes", study: str | None = None, model: Any = None) -> str:
    """The study a run of ``space`` writes to: ``study``, else the space's name (the space is checked)."""
    from sweep.space import load_space

    return study or load_space(space, model).name


def baseline(data: DataArgument = None, max_train: int | str | None = None) -> dict[str, float]:
    """The SGDClassifier figures, as ``sweep baseline`` prints them: cv_accuracy, val_accuracy, train_images."""
    from sweep.data import DataSource, compute_baseline

    source = DataSource.of(data_source(data))
    return compute_baseline(source.split(max_train), source)


def train(path: str | Path, test: bool = False, data: DataArgument = None, max_train: int | str | None = None) -> dict:
    """Retrain the config of a ``sweep best`` (or bare config) file, as ``sweep train`` does: on the training rows
    its study trained on, unless ``max_train`` names a number or ``"all"`` (every row; the score then differs)."""
    from sweep.results import read_config, read_data_order, recorded_data, recorded_model, recorded_rows, retrain

    config, seed = read_config(path)
    _log_to(RESULTS / "train.log")  # TensorFlow's native lines are kept there, as a run keeps them in STUDY.log
    source = recorded_data(path, data_source(data))  # a `sweep best` file names the .npz its study ran on
    order = read_data_order(path)  # a fused trial's batches, in the order it saw them
    return retrain(
        config, source, max_train, test, seed=seed, order=order, builder=recorded_model(path),
        study_rows=recorded_rows(path),
    )  # fmt: skip


def compare(
    space: str | Path = "notes",
    budget: str | float = "10m",
    engines: list[str] | None = None,
    *,
    storage: str | None = None,
    seed: int = 42,
    fuse: int | str = "auto",
    data: DataArgument = None,
    max_train: int | str | None = None,
    console: bool = False,
    model: Any = None,
):
    """Optuna against KerasTuner on the same budget and data, as ``sweep compare``; one row per engine.

    ``model``: a builder of your own, as in ``run``; both engines then build it. The log (every engine's
    lines) goes to results/compare.log; ``console`` also shows sweep's own on stderr.
    """
    from sweep.results import parse_duration
    from sweep.space import load_space
    from sweep.training import Builder, load_keras_quietly

    builder = Builder.of(model)
    loaded = load_space(space, builder.reference)  # a broken space is refused before TensorFlow loads,
    chosen = Builder.of(builder.reference or loaded.model)
    chosen.check()  # and a missing module: sweep.search brings TensorFlow in (KerasTuner)
    from sweep.search import COMPARED, compare_engines, setup_logging

    chosen.check_before_training(workers=1)
    setup_logging(RESULTS / "compare.log", console=console)
    load_keras_quietly()
    return compare_engines(
        loaded, parse_duration(budget), engines or COMPARED, storage, max_train, data_source(data), seed, fuse=fuse,
        model=builder.reference,
    )  # fmt: skip


def data_source(data: DataArgument) -> str | None:
    """A data argument as the source string the library passes around (arrays become an .npz)."""
    from sweep.data import as_source

    return as_source(data, RESULTS / "data")


def side_by_side(study_names, storage: str | None = None, top: int | None = None, **options):
    """Several studies' ranked tables, each cut to ``top``, stacked with a leading study column."""
    import pandas as pd

    from sweep.results import cut_to_top

    tables = [cut_to_top(load(name, storage).table(**options), top).assign(study=name) for name in study_names]
    combined = pd.concat(tables, ignore_index=True)
    return combined[["study", *[column for column in combined.columns if column != "study"]]]


def load(study: str | None = None, storage: str | None = None) -> Study:
    """A stored study; without a name, 'notes' or the storage's only study (as the CLI picks).

    A SQLite study of Optuna's known schema is read straight through ``sqlite3`` (``sweep.results.sqlite_study``:
    about 2 s less start-up for a table); ``Study.optuna`` opens Optuna's own study when it is needed.
    """
    from sweep.results import stored_study

    return Study(stored_study(study, storage), storage)


class Study:
    """A sweep's study: its ranked table, best trial, retraining, export, report and figures.

    ``.optuna`` is the underlying ``optuna.Study`` for anything not wrapped here.
    """

    def __init__(self, study, storage: str | None = None):
        self._stored = study  # an optuna.Study, or sweep.results.sqlite_study's fast reader of one
        self.storage = storage

    @property
    def optuna(self):
        """The underlying ``optuna.Study``."""
        import optuna

        from sweep.results import optuna_study

        if not isinstance(self._stored, optuna.Study):
            self._stored = optuna_study(self._stored.study_name, self.storage)
        return self._stored

    @property
    def name(self) -> str:
        return self._stored.study_name

    @property
    def baseline(self) -> dict[str, Any] | None:
        """The SGDClassifier figures on the study's split: val_accuracy, train_images."""
        return self._stored.user_attrs.get("baseline")

    @property
    def model(self) -> str | None:
        """The model builder of the user's own the trials were built with (module:function), or None."""
        return self._stored.user_attrs.get("model")

    @property
    def train_images(self) -> int | None:
        """The training rows the study's trials trained on (``--max-train``, or every row of the split)."""
        return (self.baseline or {}).get("train_images")

    @property
    def data(self) -> dict[str, Any] | None:
        """The data the study ran on: name, fingerprint, path (own data), input_shape, classes, scale."""
        return self._stored.user_attrs.get("data")

    def table(self, state: str = "all", top: int | None = None, where: str | None = None, sort: str | None = None):
        """The ranked DataFrame ``sweep table`` prints, baseline row included (kept whatever ``top`` cuts).

        ``state``: all, complete, pruned or failed; ``where``: a pandas query; ``sort``: a column.
        In a notebook it shows as a styled table with the baseline row highlighted.
        """
        from sweep.results import QueryError, RankedTable, cut_to_top, query, sort_by, trials_table

        if state not in STATES:
            raise QueryError("state", state, f"is unknown; expected one of {', '.join(STATES)}")
        table = trials_table(self._stored, STATES[state])
        table = sort_by(query(table, where), sort)
        return RankedTable(cut_to_top(table, top))

    def best(self) -> dict[str, Any]:
        """The record ``sweep best`` writes: config, val_accuracy, seed, baseline, data and versions."""
        from sweep.results import best_record

        return best_record(self.optuna)

    def best_configs(self, top: int = 5) -> tuple[dict[str, Any], ...]:
        """The configs of the ``top`` best trials (pruned ones at their best epoch), best first, each for its
        best epoch's count of epochs: what ``sweep run --warm-start`` tries first in a new study."""
        from sweep.results import ranked_trials, scored_config

        return tuple(scored_config(trial) for trial in ranked_trials(self._stored)[:top])

    def train(
        self,
        config_or_best: Any = None,
        test: bool = False,
        data: DataArgument = None,
        max_train: int | str | None = None,
    ) -> dict[str, Any]:
        """Retrain a config (default: the best trial's) on the study's data and training rows, as ``sweep train``.

        ``config_or_best``: a record from ``best()``, a bare trial config, or a path to either.
        ``test=True`` also evaluates once on the test set. ``max_train``: a number of rows, or ``"all"`` for every
        training row (the score then differs from the table's); the result's ``train_rows`` says which were used.
        """
        from sweep.data import DataSource
        from sweep.results import TRAINING_SEED, read_config, read_data_order, retrain
        from sweep.training import Builder, DataOrder

        record = self.best() if config_or_best is None else config_or_best
        if isinstance(record, (str, Path)):
            (config, seed), order = read_config(record), read_data_order(record)
        else:
            config, seed = record.get("config", record), record.get("seed", TRAINING_SEED)
            order = DataOrder.from_record(record.get("data_order"))  # a fused trial's batches, in its order
        _log_to(RESULTS / f"{self.name}.log")
        source = DataSource.for_study(self.data, data_source(data))
        builder = Builder.of(self.model)  # the study's builder (a function handed over here is found again)
        return retrain(
            config, source, max_train, test, seed=seed, order=order, builder=builder, study_rows=self.train_images
        )  # fmt: skip

    def export(
        self, path: str | Path | None = None, data: DataArgument = None, max_train: int | str | None = None
    ) -> dict:
        """Export the best trial as ``sweep export`` does (default folder results/STUDY/export); its metrics.
        Retrains on the study's training rows unless ``max_train`` names a number or ``"all"``."""
        from sweep.results import export_best

        _log_to(RESULTS / f"{self.name}.log")
        folder = Path(path or RESULTS / self.name / "export")
        return export_best(self.optuna, folder, data_source(data), max_train)

    def report(self, path: str | Path | None = None) -> Path:
        """Write the one-page HTML report (default results/STUDY/report.html); its path."""
        from sweep.results import write_report

        return write_report(self.optuna, path or RESULTS / self.name / "report.html")

    def figures(self) -> dict[str, Any]:
        """The report's plotly figures by name: history, curves, importances, parallel (those drawable now)."""
        from sweep.results import figures

        return {name: figure for name, figure in figures(self.optuna).items() if not isinstance(figure, str)}

    def summary(self) -> dict[str, Any]:
        """Counts by state, the best trial, the baseline and the time spent."""
        from sweep.results import best_trial, score, trial_summary

        summary = {"study": self.name, **trial_summary(self.optuna)}
        best = best_trial(self.optuna)
        summary["best_trial"] = best.number if best else None
        summary["best_val_accuracy"] = score(best) if best else None
        summary["baseline_val_accuracy"] = (self.baseline or {}).get("val_accuracy")
        summary["data"] = (self.data or {}).get("name")
        return summary

    def __repr__(self) -> str:
        from sweep.results import summary_text

        return summary_text(self.summary())

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        from sweep.results import summary_html

        summary = self.summary()
        return summary_html(summary, self.table(top=5)._repr_html_() if summary["best_trial"] is not None else "")
