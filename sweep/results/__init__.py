"""Stored results: Optuna storages, the ranked table, the report, and the best trial exported and retrained."""

from sweep._lazy import exports

EXPORTS = {
    "DEFAULT_STORAGE": "urls",
    "HEARTBEAT_SECONDS": "storages",
    "SCHEMES": "urls",
    "StorageError": "urls",
    "has_heartbeats": "storages",
    "mask": "urls",
    "open_storage": "storages",
    "scheme": "urls",
    "shares_badly": "storages",
    "study_names": "storages",
    "open_sqlite_study": "sqlite_study",
    "sqlite_study_names": "sqlite_study",
    "QueryError": "filters",
    "cut_to_top": "table",
    "query": "filters",
    "render": "table",
    "sort_by": "filters",
    "trials_table": "table",
    "RankedTable": "display",
    "format_seconds": "durations",
    "parse_duration": "durations",
    "summary_html": "display",
    "summary_text": "display",
    "figures": "report",
    "trial_summary": "report",
    "write_report": "report",
    "ExportError": "export",
    "TRAINING_SEED": "export",
    "best_record": "export",
    "export_best": "export",
    "read_config": "export",
    "read_data_order": "export",
    "recorded_data": "export",
    "recorded_model": "export",
    "retrain": "export",
    "write_json": "export",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = exports(__name__, EXPORTS)
