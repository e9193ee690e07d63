"""The best trial as portable files (config, script, model, metrics), and retraining a config from such a file."""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

from sweep.results.scores import best_trial, score, scored_epoch

log = logging.getLogger(__name__)

PACKAGES = ("sweep", "keras", "optuna", "numpy", "scikit-learn")
TRAINING_SEED = 42  # for a config without a seed of its own (a bare config file)


class ExportError(RuntimeError):
    """Nothing to export, or a config file that cannot be read."""


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def best_record(study) -> dict[str, Any]:
    """The best trial (pruned ones count at their best epoch): its config (trial config format), metric,
    study and versions."""
    best = best_trial(study)
    if best is None:
        raise ExportError(f"study {study.study_name!r} has no trained trial yet: run `sweep run` first")
    return trial_record(study, best)


def trial_record(study, trial) -> dict[str, Any]:
    """What ``best_record`` writes, for any trial that trained."""
    baseline = study.user_attrs.get("baseline", {})
    return {
        "study": study.study_name,
        "trial": trial.number,
        "state": trial.state.name,
        "val_accuracy": score(trial),
        "baseline_val_accuracy": baseline.get("val_accuracy"),
        "train_images": baseline.get("train_images"),
        "config": scored_config(trial),
        "best_epoch": scored_epoch(trial),
        "seed": trial.user_attrs.get("seed", TRAINING_SEED),  # the trial's own: retraining reproduces it
        "data": study.user_attrs.get("data"),  # name, fingerprint and (own data) file the study ran on
        "model": study.user_attrs.get("model"),  # a builder of the user's own (module:function), or None
        "data_order": trial.user_attrs.get("data_order"),  # a fused trial's shuffle (None: Keras's own)
        "versions": package_versions(),
    }


def scored_config(trial) -> dict[str, Any]:
    """The config that gives the trial's score: trained for its best epoch's count of epochs (trials
    before best-epoch scoring were scored on their last epoch, and keep their ``epochs``), with a cosine
    schedule still annealing over the epochs the trial was drawn with (``decay_epochs``), and a held rate cut
    where it was cut before that epoch (``rate_cuts``). A pruned trial's best epoch is one it reached before
    it stopped."""
    config = dict(trial.user_attrs.get("config", trial.params))
    best = scored_epoch(trial)
    if best is not None and "epochs" in config:
        if config.get("lr_schedule", "constant") != "constant" and best < config["epochs"]:  # annealed
            config.setdefault("decay_epochs", config["epochs"])
        if config.get("rate_cuts"):  # cuts after the best epoch shaped no epoch it keeps
            config["rate_cuts"] = [cut for cut in config["rate_cuts"] if cut < best]
            if not config["rate_cuts"]:
                del config["rate_cuts"]
                config.pop("cut_factor", None)
        if config.get("learning_rates"):  # a PBT child's rates, epoch by epoch
            config["learning_rates"] = config["learning_rates"][:best]
        config["epochs"] = best
    return config


def write_json(record: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def read_config(path: str | Path) -> tuple[dict[str, Any], int]:
    """A trial config and its training seed, from a ``sweep best`` file or a bare config JSON/YAML file."""
    import yaml

    from sweep.space import SpaceError, check_config, complete_config

    try:
        document = yaml.safe_load(Path(path).read_text())  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as error:
        raise SpaceError(
            f"{path}: cannot read the config ({type(error).__name__}): pass a file from `sweep best`"
        ) from None
    config = document.get("config", document) if isinstance(document, dict) else None
    own = isinstance(document, dict) and document.get("model") is not None  # a builder's config: its own names
    if not isinstance(config, dict) or not (own or "hidden_layers" in config):
        raise SpaceError(f"{path}: no trial config found (expected keys like hidden_layers, units, optimizer)")
    if not own:
        check_config(config, Path(path))
    seed = document.get("seed", TRAINING_SEED)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpaceError(f"{path}: 'seed' must be a non-negative integer, got {seed!r}")
    return (config if own else complete_config(config)), seed


def recorded_model(path: str | Path):
    """The model builder a ``sweep best`` file's trials were built with (sweep's own when it names none)."""
    from sweep.training import Builder

    document = _read_record(path)
    return Builder.of(document.get("model") if isinstance(document, dict) else None)


def recorded_data(path: str | Path, given=None):
    """The data a ``sweep best`` file's study ran on (its own .npz), unless ``given`` names other data."""
    from sweep.data import DataSource

    document = _read_record(path)
    return DataSource.for_study(document.get("data") if isinstance(document, dict) else None, given)


def recorded_rows(path: str | Path) -> int | None:
    """The training rows a ``sweep best`` file's study trained on; None for a bare config (every row)."""
    document = _read_record(path)
    return document.get("train_images") if isinstance(document, dict) else None


def read_data_order(path: str | Path):
    """The fused group's data order stored in a ``sweep best`` file, or None (Keras shuffles)."""
    from sweep.training import DataOrder

    document = _read_record(path)
    return DataOrder.from_record(document.get("data_order")) if isinstance(document, dict) else None


def _read_record(path: str | Path):
    import yaml

    return yaml.safe_load(Path(path).read_text())


def retraining_rows(max_train: int | str | None, study_rows: int | None) -> int | str | None:
    """The training rows a retrain uses: the study's own (its record's ``train_images``) unless ``max_train``
    names others, or ``"all"`` (``sweep.data.ALL_ROWS``) for every row. Only the study's rows give the table's
    score again."""
    return study_rows if max_train is None else max_train


def rows_note(max_train: int | str | None, study_rows: int | None, used: int) -> str:
    """How many rows a retrain used, and whether its score can be compared with the table's."""
    if max_train is None and study_rows:
        return f"the study's {used} training rows, as its trials trained"
    if study_rows and used != study_rows:
        return f"{used} training rows, not the study's {study_rows}: the score will differ from the table's"
    return f"{used} training rows"


def retrain(
    config: dict[str, Any],
    data=None,
    max_train: int | str | None = None,
    with_test: bool = False,
    save_to: str | Path | None = None,
    seed: int = TRAINING_SEED,
    order=None,
    builder=None,
    study_rows: int | None = None,
) -> dict[str, Any]:
    """Train ``config`` again on the sweep's split; evaluate on the test set only if asked.

    ``study_rows``: the training rows the study trained on, used unless ``max_train`` says otherwise (a number,
    or ``"all"``). ``save_to`` keeps the trained model as a ``.keras`` file, which the test accuracy then measures.
    """
    from sweep.data import DataSource
    from sweep.training import OURS, evaluate, release, train

    data = DataSource.of(data)
    split = data.split(retraining_rows(max_train, study_rows))
    result = train(config, split, keep_model=True, seed=seed, order=order, builder=builder or OURS)
    metrics = {
        "val_accuracy": result.val_accuracy,
        "epochs": result.epochs_run,
        "fit_seconds": round(result.fit_seconds, 2),
        "train_images": len(split.y_train),
        "train_rows": rows_note(max_train, study_rows, len(split.y_train)),
    }
    log.info("retrained on %s", metrics["train_rows"])
    model = result.model
    if save_to is not None:
        result.model.save(save_to)
        model = load_model(save_to)  # the metrics then describe the file, not only the process's copy
    if with_test and not data.has_test_set:
        log.info("no test set in %s: test_accuracy is left out", data)
    elif with_test:  # the one place the test set is touched, and it is labelled as such
        metrics["test_accuracy"] = evaluate(model, *data.test_set())
    release(result.model)
    return metrics


def load_model(path: str | Path):
    """A ``.keras`` file, in safe mode: no arbitrary code (lambdas) is run while loading."""
    import keras

    return keras.saving.load_model(path, safe_mode=True)


def export_best(study, out_dir: str | Path, data=None, max_train: int | str | None = None) -> dict[str, Any]:
    """The best trial, ready to leave the project.

    Writes config.json and config.yaml (the trial config), train_best.py (plain Keras and numpy),
    model.keras (retrained here) and metrics.json: its val_accuracy and, evaluated once here and
    labelled as such, its test_accuracy.
    """
    record = best_record(study)  # before Keras starts: a study with nothing to export fails fast
    import yaml

    from sweep.data import DataSource
    from sweep.results.script_template import render_script
    from sweep.training import Builder, DataOrder, release

    config = record["config"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(config, out / "config.json")
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    data = DataSource.for_study(record["data"], data)  # the study's own .npz unless told otherwise
    split = data.split(retraining_rows(max_train, record["train_images"]))
    builder = Builder.of(record["model"])
    architecture = builder.build(config, input_shape=split.input_shape, classes=split.classes)
    # train_best.py seeds as the trial did: it retrains this very model
    (out / "train_best.py").write_text(render_script(config, record, architecture, record["seed"]))
    release(architecture)
    order = DataOrder.from_record(record["data_order"])
    metrics = retrain(
        config, data, max_train, True, out / "model.keras", record["seed"], order, builder, record["train_images"]
    )
    summary = {
        "study": record["study"],
        "trial": record["trial"],
        "sweep_val_accuracy": record["val_accuracy"],
        "baseline_val_accuracy": record["baseline_val_accuracy"],
        **metrics,
        "test_images": len(data.test_set()[1]) if "test_accuracy" in metrics else 0,
        "test_note": "the test set, evaluated once at export on model.keras; never used to select",
        "data": record["data"],
        "versions": record["versions"],
    }
    write_json(summary, out / "metrics.json")
    log.info("exported trial %s of %r to %s", record["trial"], record["study"], out)
    return summary
