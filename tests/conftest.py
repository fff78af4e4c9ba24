"""Shared fixtures: a tiny offline IMDB and throw-away copies of the DVC project."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from tiny_imdb import build_tiny_imdb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages")

# Small enough that a whole `dvc repro` on the tiny dataset takes well under a minute.
TINY_PARAMS: dict[str, dict[str, Any]] = {
    "vocab": {"size": 400},
    "tokenize": {"max_length": 64},
    "train": {"epochs": 1, "batch_size": 16, "shuffle_buffer": 200},
}


@pytest.fixture(scope="session")
def tiny_tfds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tfds data directory holding a prepared tiny `imdb_reviews` (80 train, 80 test)."""
    return build_tiny_imdb(tmp_path_factory.mktemp("tfds"))


def set_params(project: Path, overrides: dict[str, dict[str, Any]]) -> None:
    """Overwrite some keys of the project's params.yaml, section by section."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in overrides.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


class Project:
    """A git + DVC copy of this project in a temporary directory, run on tiny IMDB."""

    def __init__(self, path: Path, tfds_dir: Path) -> None:
        self.path = path
        self.env = {**os.environ, "TFDS_DATA_DIR": str(tfds_dir), "PYTHONUNBUFFERED": "1"}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command in the project; fail the test with its output if it fails."""
        result = subprocess.run(args, cwd=self.path, env=self.env, text=True,
                                capture_output=True, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {result.returncode}\n"
                        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a command in the project, its stdout and stderr merged into one pipe."""
        return subprocess.Popen(args, cwd=self.path, env=self.env, text=True, bufsize=1,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "dvc", *args, check=check)

    def repro(self, *args: str) -> set[str]:
        """Run `dvc repro`; return the stages DVC ran or restored from its run cache."""
        output = self.dvc("repro", *args).stdout
        return {line.split("'")[1] for line in output.splitlines()
                if line.startswith("Running stage '")
                or line.startswith("Stage '") and "is cached" in line}

    def set_params(self, **overrides: dict[str, Any]) -> None:
        set_params(self.path, overrides)

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-qm", message)


def data_snapshot(project: Project) -> dict[str, str]:
    """SHA-256 of every file under the project's data/, by relative path."""
    data = project.path / "data"
    return {str(path.relative_to(data)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(data.rglob("*")) if path.is_file()}


def create_project(path: Path, tfds_dir: Path) -> Project:
    """Copy the project to `path` (git + DVC, TINY_PARAMS applied, one commit)."""
    path.mkdir(parents=True)
    for item in PROJECT_FILES:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, path / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, path / item)
    (path / ".gitignore").write_text("/data/\n__pycache__/\n", encoding="utf-8")
    set_params(path, TINY_PARAMS)

    project = Project(path, tfds_dir)
    project.run("git", "init", "-q")
    project.run("git", "config", "user.email", "tests@example.com")
    project.run("git", "config", "user.name", "tests")
    project.dvc("init", "-q")
    project.dvc("config", "core.analytics", "false")
    project.commit("tiny project")
    return project


@pytest.fixture
def project(tmp_path: Path, tiny_tfds_dir: Path) -> Project:
    """A fresh, not yet reproduced project copy."""
    return create_project(tmp_path / "project", tiny_tfds_dir)


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory, tiny_tfds_dir: Path) -> Project:
    """A project copy on which `dvc repro` has run once, shared by a test module."""
    project = create_project(tmp_path_factory.mktemp("reproduced") / "project", tiny_tfds_dir)
    project.repro()
    project.commit("reproduced")
    return project


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_tfds_dir: Path) -> Project:
    """A project copy reproduced once with `train.mask_padding: true`, export included.

    With padding masked a review's probability does not depend on its batch neighbours, so
    the export's and the evaluate stage's predictions agree. Shared by the export and predict
    tests, which only read it.
    """
    project = create_project(tmp_path_factory.mktemp("exported") / "project", tiny_tfds_dir)
    project.set_params(train={"mask_padding": True})
    assert "export" in project.repro()
    return project
