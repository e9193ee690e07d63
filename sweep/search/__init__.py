"""The search: Optuna's study and trial loop (solo and fused), its policy, KerasTuner, workers, compare."""

from sweep._lazy import exports

EXPORTS = {
    "SweepSettings": "settings",
    "SweepStopped": "settings",
    "Recycle": "settings",
    "trial_target": "settings",
    "run_sweep": "driver",
    "open_study": "study",
    "record_baseline": "study",
    "run_keras_tuner": "tuner",
    "run_workers": "workers",
    "compare_engines": "compare",
    "COMPARED": "compare",
    "Progress": "progress",
    "ProgressBar": "progress",
    "setup_logging": "progress",
    "wants_bar": "progress",
    "launch": "session",
    "SAMPLERS": "policy",
    "PRUNERS": "policy",
    "OptionConflict": "policy",
    "check_options": "policy",
    "budgeted_or_refused": "epochs",
    "cuts_or_refused": "plateau",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = exports(__name__, EXPORTS)
