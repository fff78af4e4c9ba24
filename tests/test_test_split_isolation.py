"""Only the evaluate stage reads the test split."""

import sys

import yaml
from conftest import Project


def test_train_stage_never_opens_the_test_records(project: Project) -> None:
    project.repro("tokenize")
    test_records = project.path / "data" / "tokenized" / "test.tfrecord"
    assert test_records.stat().st_size > 0

    # With the test records gone and a directory in their place, any read of them would fail.
    test_records.unlink()
    test_records.mkdir()
    project.run(sys.executable, "-m", "stages.train")
    assert (project.path / "data" / "model.keras").exists()


def test_dvc_gives_train_no_test_split_dependency(project: Project) -> None:
    stages = yaml.safe_load((project.path / "dvc.yaml").read_text())["stages"]
    assert not any("test" in dep for dep in stages["train"]["deps"] if dep.startswith("data/"))
    assert "data/tokenized/test.tfrecord" in stages["evaluate"]["deps"]
