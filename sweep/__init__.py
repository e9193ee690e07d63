"""sweep: hyperparameter sweeps for Keras models on Fashion-MNIST (or your own data), driven by Optuna.

The public API is ``run``, ``load`` and ``Study`` (``sweep.api``); everything else is internal.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the console
# Heartbeats, retries and fail_stale_trials are marked experimental by Optuna; they are its documented
# way to recover from dead workers, and the warning would repeat in every worker process.
warnings.filterwarnings("ignore", message=r".*(is experimental|experimental feature).*")

__version__ = "0.2.0"

from sweep.api import Study, load, run  # noqa: E402  (after the environment settings above)

__all__ = ["Study", "load", "run"]
