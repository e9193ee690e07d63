"""The walk-through notebook on the site, with its outputs, and its plotly figures drawn offline.

The notebook is committed without outputs. The build executes it here with nbclient, as the tests do,
in a temporary folder as its working directory: it writes a ``results/`` folder wherever it runs, and
that must not land in docs/. (The test suite executes it once for its own checks and hands that copy
over in SWEEP_DOCS_NOTEBOOK; set it to an executed copy under ``mkdocs serve`` too, which would otherwise
execute the notebook again on every rebuild.) The executed copy then replaces the committed one in the
build, before mkdocs-jupyter converts it.

Two kinds of output need a hand. A plotly figure reaches a notebook as ``application/vnd.plotly.v1+json``
alone, which nbconvert's HTML does not render at all (mkdocs-jupyter's ``include_requirejs`` only helps
figures that carry require.js-flavoured HTML and fetches require.js from a CDN); so each figure gets an
HTML fallback drawn by ``Plotly.newPlot``, with plotly.js served from the site itself (the copy inside
the plotly package), never from a CDN. tqdm's live progress bar is an ipywidget, which static HTML can
only show through a widget manager fetched from a CDN; a finished run's bar says nothing the table does
not, so it is left out.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.notebook")

NOTEBOOK = "notebook.ipynb"  # under docs_dir
PLOTLY_JS = "assets/javascripts/plotly.min.js"  # where the site serves plotly.js from
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"
_workdir: Path | None = None


@event_priority(100)  # before mkdocs-jupyter wraps the notebook's file
def on_files(files, config):
    global _workdir
    committed = files.get_file_from_path(NOTEBOOK)
    if committed is None:
        return files
    _workdir = Path(tempfile.mkdtemp(prefix="sweep-docs-notebook-"))
    static = for_static_html(executed(Path(committed.abs_src_path), _workdir))
    nbformat.write(static, _workdir / NOTEBOOK)
    files.remove(committed)
    # a plain File rooted in the work folder: mkdocs-jupyter's wrapper cannot see a generated file's path
    files.append(File(NOTEBOOK, str(_workdir), config.site_dir, config.use_directory_urls))
    files.append(File.generated(config, PLOTLY_JS, abs_src_path=str(plotly_js())))
    return files


def on_page_content(html, page, config, files):
    """plotly.js once, before the notebook's first figure, on the one page that has figures."""
    if page.file.src_uri != NOTEBOOK:
        return html
    source = files.get_file_from_path(PLOTLY_JS).url_relative_to(page.file)
    return f'<script src="{source}"></script>\n{html}'


def on_post_build(config):
    if _workdir is not None:
        shutil.rmtree(_workdir, ignore_errors=True)


def executed(notebook: Path, folder: Path):
    """The notebook run top to bottom with ``folder`` as its working directory, or the copy that
    SWEEP_DOCS_NOTEBOOK names: the test suite executes the notebook once for tests/test_api.py and the site."""
    already = os.environ.get("SWEEP_DOCS_NOTEBOOK")
    if already:
        log.info("using %s, executed already", already)
        return nbformat.read(already, as_version=4)
    from nbclient import NotebookClient

    log.info("executing %s in %s", notebook.name, folder)
    document = nbformat.read(notebook, as_version=4)
    NotebookClient(
        document, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return document


def for_static_html(document):
    """Outputs that draw in a static page: plotly figures with an HTML twin, no widgets."""
    for cell in document.cells:
        if cell.cell_type == "code":
            cell.outputs = [with_html(output) for output in cell.outputs if WIDGET not in output.get("data", {})]
    document.metadata.pop("widgets", None)  # its presence makes nbconvert link the CDN's widget manager
    return document


def with_html(output):
    """A plotly figure's output with an HTML twin that draws it; any other output unchanged."""
    figure = output.get("data", {}).get(PLOTLY)
    if figure is not None:
        import plotly.io

        output.data["text/html"] = plotly.io.to_html(figure, include_plotlyjs=False, full_html=False)
    return output


def plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
