"""A DVC remote shares outputs: a fresh clone pulls them and has nothing left to run."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Project


def test_a_fresh_clone_pulls_the_trained_model_and_runs_nothing(reproduced: Project,
                                                                 tmp_path: Path) -> None:
    # Push every stage's cached outputs to a directory remote, and commit its configuration.
    storage = tmp_path / "storage"
    reproduced.dvc("remote", "add", "--default", "shared", str(storage))
    reproduced.commit("use a shared DVC remote")
    pushed = reproduced.dvc("push").stdout
    assert "pushed" in pushed and any(storage.rglob("*"))

    # A new clone has the code and dvc.lock but none of data/ until it pulls.
    clone = Project(tmp_path / "clone", tfds_dir=tmp_path / "no-tfds-here")
    reproduced.run("git", "clone", "-q", str(reproduced.path), str(clone.path))
    assert not (clone.path / "data").exists()
    clone.dvc("pull")

    for output in ("model.keras", "export", "vocab.txt", "tokenized/train.tfrecord"):
        assert (clone.path / "data" / output).exists(), output
    pulled = json.loads((clone.path / "data" / "evaluate" / "metrics.json").read_text())
    original = json.loads((reproduced.path / "data" / "evaluate" / "metrics.json").read_text())
    assert pulled == original
    assert clone.repro() == set()
    assert clone.dvc("status").stdout.strip().endswith("up to date.")
