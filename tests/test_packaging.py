"""The package as a user installs it: the wheel built from this checkout, installed into a fresh virtual
environment, run from an empty folder. Also: one version everywhere, and the CHANGELOG that names it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import sweep

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv")
needs_uv = pytest.mark.skipif(UV is None, reason="uv builds the wheel and the fresh venv (pip install uv)")


def uv(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([UV, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"uv {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    uv("build", "--wheel", "--out-dir", str(out), str(ROOT))
    (built,) = out.glob("sweep-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The `sweep` command of a fresh venv that holds the wheel and its dependencies, nothing of this checkout."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    uv("venv", "--python", sys.executable, str(venv))
    uv("pip", "install", "--python", str(venv / "bin" / "python"), str(wheel))
    return venv / "bin"


@needs_uv
def test_the_wheel_holds_every_package_and_the_built_in_spaces_as_they_are(wheel):
    archive = zipfile.ZipFile(wheel)
    folders = {str(Path(name).parent) for name in archive.namelist()}
    packages = {str(init.parent.relative_to(ROOT)) for init in (ROOT / "sweep").rglob("__init__.py")}
    assert packages <= folders, f"missing from pyproject.toml's packages: {sorted(packages - folders)}"
    spaces = sorted((ROOT / "search_spaces").glob("*.yaml"))
    assert [path.stem for path in spaces] == ["cnn", "mlp", "notes", "reference"]
    for path in spaces:  # one source: the top-level folder, copied byte for byte
        assert archive.read(f"sweep/search_spaces/{path.name}") == path.read_bytes()


@needs_uv
def test_the_installed_wheel_runs_the_notes_space_from_an_empty_folder(installed, tmp_path):
    def sweep_command(*args: str) -> subprocess.CompletedProcess:
        environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        result = subprocess.run(
            [str(installed / "sweep"), *args], cwd=tmp_path, capture_output=True, text=True, timeout=600,
            env=environment,
        )  # fmt: skip
        assert result.returncode == 0, f"sweep {' '.join(args)}:\n{result.stderr[-3000:]}"
        return result

    assert sweep_command("--version").stdout.strip() == f"sweep, version {sweep.__version__}"
    listed = sweep_command("spaces").stdout
    assert {line.split()[0] for line in listed.splitlines()} == {"cnn", "mlp", "notes", "reference"}
    shown = sweep_command("space", "show", "notes").stdout
    assert "site-packages/sweep/search_spaces/notes.yaml" in shown and "learning_rate" in shown
    swept = sweep_command("run", "--trials", "2", "--max-train", "2000")
    ranked = [line for line in swept.stdout.splitlines() if re.match(r"\s*[12]\s+\d+\s+COMPLETE", line)]
    assert len(ranked) == 2, swept.stdout
    assert (tmp_path / "results" / "sweep.db").is_file()


def test_the_version_is_defined_once_and_the_changelog_names_it():
    from importlib.metadata import version

    assert version("sweep") == sweep.__version__  # pyproject.toml reads it from sweep/__init__.py
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert releases and releases[0] == sweep.__version__, "the newest CHANGELOG entry is this version"


def docker_engine_answers() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run([docker, "info"], capture_output=True, timeout=60).returncode == 0


def test_the_worker_image_builds_from_the_dockerfile_and_runs_sweep():
    """The image the Kubernetes example names; built only where a Docker engine answers (not on this project's
    CI machines, which carry the client alone)."""
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers here: `docker info` fails, so nothing can build the image")
    tag = f"sweep:{sweep.__version__}"
    built = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    listed = subprocess.run(["docker", "run", "--rm", tag, "spaces"], capture_output=True, text=True, timeout=600)
    assert listed.returncode == 0 and "notes" in listed.stdout, listed.stderr[-3000:]


def test_the_worker_examples_name_only_what_this_repository_builds_at_this_version():
    """Kubernetes runs the image the Dockerfile builds, Slurm the wheel: both named at the package's version."""
    pages = "\n".join(page.read_text() for page in (ROOT / "docs").rglob("*.md"))
    images = re.findall(r"^\s*image:\s*(\S+)", pages, re.MULTILINE)
    built = re.findall(r"docker build -t (\S+) \.", pages + (ROOT / "Dockerfile").read_text())
    assert images and built, "the Kubernetes example names an image and says how to build it"
    assert set(built) == {f"sweep:{sweep.__version__}"}
    assert all(image.endswith(f"/sweep:{sweep.__version__}") for image in images), images
    wheels = set(re.findall(r"sweep-(\S+)-py3-none-any\.whl", pages))
    assert wheels == {sweep.__version__}, "the Slurm example installs the wheel of this version"
