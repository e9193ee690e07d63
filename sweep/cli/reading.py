"""Commands that read a study: table, best, report, dashboard, export."""

from __future__ import annotations

from pathlib import Path

import click

from sweep import api
from sweep.cli.app import (
    UserError,
    main,
    print_studies,
    print_table,
    storage_option,
    study_option,
    user_errors,
    with_data_options,
)


@main.command()
@click.option(
    "--study",
    "studies",
    multiple=True,
    help="Study name; repeat it (--study a --study b) to show studies side by side [default: notes].",
)
@storage_option
@click.option(
    "--top", type=click.IntRange(min=1), default=None, help="Only the N best rows (the baseline row always shows)."
)
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "markdown", "json", "html"]), default="text")
@click.option("--state", type=click.Choice(["complete", "pruned", "failed", "all"]), default="all")
@click.option("--sort", default=None, help="Sort by this column instead of rank.")
@click.option("--where", default=None, help="""A pandas query, e.g. 'optimizer == "adam"'.""")
@user_errors
def table(studies, storage, top, fmt, state, sort, where):
    """The ranked table of a study, against the SGDClassifier baseline."""
    if len(studies) > 1:
        print_studies(studies, storage, top, fmt=fmt, state=state, sort=sort, where=where)
        return
    print_table(studies[0] if studies else None, storage, top, fmt=fmt, state=state, sort=sort, where=where)


@main.command()
@study_option
@storage_option
@click.option("--out", type=click.Path(dir_okay=False), default="results/best.json")
@user_errors
def best(study, storage, out):
    """Write the best trial's config, metric and package versions to a JSON file."""
    record = api.load(study, storage).best()
    path = api.write_json(record, out)
    epoch = f" at epoch {record['best_epoch']}" if record.get("best_epoch") else ""  # retrained for that many
    epoch += " (pruned there or later)" if record.get("state") == "PRUNED" else ""
    score = f"val_accuracy {record['val_accuracy']:.4f}{epoch}"
    click.echo(f"trial {record['trial']} of {record['study']!r}: {score} -> {path}")


@main.command()
@study_option
@storage_option
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="[default: results/STUDY/report.html]")
@user_errors
def report(study, storage, out):
    """Write one self-contained HTML page: ranked table, history, importances, curves. Prints its path."""
    click.echo(api.load(study, storage).report(out))


DASHBOARD_HOST = "127.0.0.1"  # loopback only: the dashboard can edit studies and has no login


@main.command()
@study_option
@storage_option
@click.option(
    "--port", type=click.IntRange(min=0, max=65535), default=8080, help="Port on 127.0.0.1; 0 picks a free one."
)
@user_errors
def dashboard(study, storage, port):
    """Browse a study in optuna-dashboard on 127.0.0.1; runs until Ctrl-C."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from optuna_dashboard import wsgi

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:  # the page polls every few seconds; keep the terminal readable
            pass

    name = api.load(study, storage).name
    opened = api.open_storage(storage)
    try:  # bind first, so the address printed is one that answers
        server = make_server(DASHBOARD_HOST, port, wsgi(opened), handler_class=Quiet)
    except OSError as error:
        reason = error.strerror or error
        raise UserError(f"cannot listen on {DASHBOARD_HOST}:{port} ({reason}): pick another --port") from None
    address = f"http://{DASHBOARD_HOST}:{server.server_port}/dashboard/studies/{opened.get_study_id_from_name(name)}"
    click.echo(f"optuna-dashboard for study {name!r}: {address}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("sweep: dashboard stopped", err=True)
    finally:
        server.server_close()


@main.command()
@study_option
@storage_option
@click.option("--out", type=click.Path(file_okay=False), default=None, help="[default: results/STUDY/export]")
@with_data_options
@user_errors
def export(study, storage, out, data_dir, max_train):
    """Export the best trial: config.json/.yaml, train_best.py, model.keras, metrics.json (test set once)."""
    loaded = api.load(study, storage)
    folder = Path(out or api.RESULTS / loaded.name / "export")
    metrics = loaded.export(folder, data_dir, max_train)
    click.echo(
        f"trial {metrics['trial']} of {metrics['study']!r} -> {folder}/  "
        f"(config.json, config.yaml, train_best.py, model.keras, metrics.json)"
    )
    click.echo(
        f"val_accuracy {metrics['val_accuracy']:.4f} retrained on {metrics['train_rows']} "
        f"(the sweep measured {metrics['sweep_val_accuracy']:.4f})"
    )
    if "test_accuracy" in metrics:
        click.echo(
            f"TEST accuracy {metrics['test_accuracy']:.4f}  ({metrics['test_images']:,} test images, evaluated once)"
        )
    else:
        click.echo("no test set in the data (x_test, y_test): test accuracy left out")
