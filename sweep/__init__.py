"""sweep: hyperparameter sweeps for Keras models on Fashion-MNIST, driven by Optuna."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the console

__version__ = "0.1.0"
