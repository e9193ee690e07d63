"""Training: a Keras model from a config, one trial trained alone, many fused into one program, devices.

Nothing here knows Optuna: the search layer hands configs in and hears back per epoch.
``signals`` is the stop flag the trainers poll between batches.
"""

from sweep._lazy import exports

EXPORTS = {
    "IMAGE_SHAPE": "model",
    "CLASSES": "model",
    "build_model": "model",
    "build_optimizer": "model",
    "epoch_learning_rates": "model",
    "CUT_FACTOR": "model",
    "schedule_callbacks": "model",
    "Builder": "builders",
    "BuilderError": "builders",
    "OURS": "builders",
    "train": "solo",
    "evaluate": "solo",
    "release": "solo",
    "DataOrder": "solo",
    "Speed": "solo",
    "TrainingDiverged": "solo",
    "Branch": "group",
    "train_group": "group",
    "resolve_fuse": "devices",
    "share_gpu_memory": "devices",
    "visible_gpus": "devices",
    "GPU_SHARING": "devices",
    "load_keras_quietly": "native",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = exports(__name__, EXPORTS)
