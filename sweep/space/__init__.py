"""Search spaces: the YAML file, its checks before any training, its centre, and the model's vocabulary."""

from sweep._lazy import exports

EXPORTS = {
    "SearchSpace": "spec",
    "Suggester": "spec",
    "load_space": "spec",
    "available_spaces": "spec",
    "complete_config": "spec",
    "resolve_path": "spec",
    "centre_values": "centre",
    "check_config": "checks",
    "check_data_fits": "checks",
    "SpaceError": "vocabulary",
    "Param": "vocabulary",
    "REFERENCE_CONFIG": "vocabulary",
    "VOCABULARY": "vocabulary",
    "ENGINES": "vocabulary",
    "TUNER_NAMES": "vocabulary",
    "parse_engine": "vocabulary",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = exports(__name__, EXPORTS)
