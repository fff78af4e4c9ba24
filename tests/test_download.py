"""The download stage's failures: one clear line, no traceback."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from conftest import Project

from stages.download import SOURCE_URL


def source_reachable() -> bool:
    host = SOURCE_URL.split("/")[2]
    try:
        socket.create_connection((host, 80), timeout=5).close()
    except OSError:
        return False
    return True


def run_download(project: Project) -> tuple[int, str]:
    result = project.run(sys.executable, "-m", "stages.download", check=False)
    return result.returncode, result.stderr


@pytest.mark.skipif(source_reachable(), reason="IMDB's host is reachable: tfds would download")
def test_missing_dataset_names_tfds_data_dir(project: Project, tmp_path: Path) -> None:
    project.env["TFDS_DATA_DIR"] = str(tmp_path / "empty")
    status, stderr = run_download(project)
    assert status == 1
    assert "TFDS_DATA_DIR" in stderr and "~/tensorflow_datasets" in stderr
    assert "Traceback" not in stderr
    assert not (project.path / "data" / "raw").exists()


def test_unknown_split_is_named(project: Project) -> None:
    project.set_params(download={"test_split": "tset"})
    status, stderr = run_download(project)
    assert status == 1
    assert "split 'tset' is not a valid split" in stderr and "Traceback" not in stderr


def test_bad_params_stop_before_any_work(project: Project) -> None:
    project.set_params(tokenize={"padding": "middle"})
    status, stderr = run_download(project)
    assert status == 1
    assert "tokenize.padding = 'middle' is not allowed" in stderr
    assert not (project.path / "data").exists()
