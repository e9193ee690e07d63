"""The Benchmarks page's tables and plots, read from results/reference/ where the benchmarks write them.

They stay where ``nox -s bench`` writes and git keeps them, outside docs_dir: the tables come in through
pymdownx.snippets (``--8<-- "anytime.md:3:"``, its base path set here), and the plots are served from
that folder under ``benchmarks/``, so the page always shows the committed figures and no PNG is copied
into docs/.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference"


def on_config(config):
    config.mdx_configs["pymdownx.snippets"]["base_path"] = [str(REFERENCE)]
    return config


def on_files(files, config):
    for plot in sorted(REFERENCE.glob("*.png")):
        files.append(File.generated(config, f"benchmarks/{plot.name}", abs_src_path=str(plot)))
    return files
