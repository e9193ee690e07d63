"""The notes' logistic-regression baseline, scored on the same split the trials use.

``SGDClassifier(loss="log_loss", max_iter=5, random_state=42)`` gives two figures:
the accuracy on our validation split after fitting on our training split, which every
run scores its trials against, and the notes' 5-fold cross-validated accuracy on all
60,000 training images (~20 s), which only ``sweep baseline`` shows, so that a first
run's ``--timeout`` goes to trials. Both are cached on disk per dataset and split, and
the driver copies the split's figure into the study's user attributes where tables read
it without recomputing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path

from sweep.data.source import DataSource
from sweep.data.split import Split

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Path(os.environ.get("SWEEP_CACHE_DIR", "results/.cache"))


def _classifier():
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", max_iter=5, random_state=42)


def compute_baseline(split: Split, data: DataSource | None = None, cross_validated: bool = True) -> dict[str, float]:
    """The baseline figures for ``split`` (the notes' cross-validated one too, unless ``cross_validated`` is
    False); each is computed once and then read from the disk cache."""
    figures = {"val_accuracy": _cached(f"val-{split.fingerprint}", lambda: _on_split(split))}
    if cross_validated:
        data_key = split.fingerprint.split("-", 1)[0]
        figures["cv_accuracy"] = _cached(f"cv-{data_key}", lambda: _cross_validated(data or DataSource()))
    return {**figures, "train_images": len(split.y_train)}


def _cached(key: str, compute) -> float:
    path = cache_dir() / f"baseline-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())["accuracy"]
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}")  # renamed into place: a parallel reader never sees half
    partial.write_text(json.dumps({"accuracy": value}))
    partial.replace(path)
    return value


def _cross_validated(data: DataSource) -> float:
    """The notes' figure: 5-fold cross-validation on all 60,000 training images."""
    from sklearn.model_selection import cross_validate

    log.info("computing the SGDClassifier 5-fold baseline (about 20 s, once per dataset)")
    x_all, y_all = data.full_training_set()
    from joblib.externals.loky import get_reusable_executor

    with _quiet():
        # worker processes pay off on Fashion-MNIST's 60,000 images; on a small data set their start-up dominates
        jobs = -1 if len(y_all) > 10_000 else 1
        scores = cross_validate(_classifier(), _flat(x_all), y_all, cv=5, n_jobs=jobs)["test_score"]
    get_reusable_executor().shutdown(wait=True)  # no idle pool left behind in a sweep process
    return float(scores.mean())


def _on_split(split: Split) -> float:
    """Fit on our training split, score on our validation split: comparable with every trial."""
    with _quiet():
        fitted = _classifier().fit(_flat(split.x_train), split.y_train)
    return float(fitted.score(_flat(split.x_val), split.y_val))


@contextlib.contextmanager
def _quiet():
    """max_iter=5 is the notes' choice; its ConvergenceWarning says nothing new."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _flat(images):
    return images.reshape(len(images), -1)
