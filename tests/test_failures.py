"""Bad params and damaged records stop the pipeline with one clear line and lose nothing."""

from __future__ import annotations

import sys

import pytest
import yaml
from conftest import Project, data_snapshot

BAD_PARAMS = [
    ({"tokenize": {"max_length": -5}}, "tokenize.max_length = -5 is not allowed"),
    ({"tokenize": {"padding": "middle"}},
     "tokenize.padding = 'middle' is not allowed: expected 'pre' or 'post'"),
    ({"tokenize": {"validation_fraction": 1.5}}, "tokenize.validation_fraction = 1.5"),
    ({"vocab": {"size": 2}}, "vocab.size = 2 is not allowed"),
    ({"train": {"epochs": 0}}, "train.epochs = 0 is not allowed: expected a value >= 1"),
    ({"train": {"lstm_units": []}}, "train.lstm_units = [] is not allowed"),
    ({"train": {"strategy": "horovod"}}, "train.strategy = 'horovod' is not allowed"),
    ({"train": {"epoch": 3}}, "train.epoch is not a known parameter"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_PARAMS,
                         ids=[message.split(" ")[0] for _, message in BAD_PARAMS])
def test_rejected_params_leave_every_output_untouched(reproduced: Project, overrides: dict,
                                                      message: str) -> None:
    before = data_snapshot(reproduced)
    reproduced.set_params(**overrides)
    try:
        result = reproduced.dvc("repro", check=False)
    finally:
        reproduced.run("git", "checkout", "params.yaml")

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "stages:" in line]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.stderr
    # DVC ran the check stage alone: every other stage's outputs are as they were.
    assert "Running stage 'check'" in result.stdout
    assert result.stdout.count("Running stage") == 1
    assert data_snapshot(reproduced) == before
    assert reproduced.dvc("status").stdout.strip().endswith("up to date.")


def test_a_vocabulary_too_small_for_the_alphabet_says_so(project: Project) -> None:
    project.set_params(vocab={"size": 10})
    result = project.dvc("repro", "vocab", check=False)
    assert result.returncode != 0
    assert "vocab.size = 10 is too small" in result.stderr and "raise vocab.size" in result.stderr


@pytest.mark.parametrize(("split", "stage", "damage", "message"), [
    ("train", "train", "truncate", "bytes where the tokenize stage wrote"),
    ("validation", "train", "alter", "its contents changed after the tokenize stage wrote it"),
    ("test", "evaluate", "alter", "its contents changed after the tokenize stage wrote it"),
])
def test_damaged_records_are_named_before_any_is_read(reproduced: Project, split: str,
                                                      stage: str, damage: str,
                                                      message: str) -> None:
    records = reproduced.path / "data" / "tokenized" / f"{split}.tfrecord"
    contents = records.read_bytes()
    if damage == "truncate":
        records.write_bytes(contents[: len(contents) // 2])
    else:
        middle = len(contents) // 2
        records.write_bytes(contents[:middle] + bytes([contents[middle] ^ 0xFF])
                            + contents[middle + 1:])
    try:
        result = reproduced.run(sys.executable, "-m", f"stages.{stage}", check=False)
        status = reproduced.dvc("status", "tokenize").stdout
    finally:
        reproduced.dvc("checkout", "--force", "data/tokenized")

    assert result.returncode == 1
    assert f"data/tokenized/{split}.tfrecord is corrupt" in result.stderr
    assert message in result.stderr and "rerun `dvc repro tokenize`" in result.stderr
    assert "Traceback" not in result.stderr
    # DVC sees the damage too, so `dvc repro` would rewrite the records.
    assert "modified" in status and "data/tokenized" in status
    assert reproduced.dvc("status").stdout.strip().endswith("up to date.")


def test_pipeline_outputs_are_reproducible(project: Project) -> None:
    project.repro()
    first_lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    first_metrics = yaml.safe_load((project.path / "data/train/metrics.json").read_text())

    # Every stage again, from scratch: forced, without DVC's run cache.
    output = project.dvc("repro", "--force", "--no-run-cache").stdout
    assert {"download", "vocab", "tokenize", "train"} <= {
        line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}
    second_lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    second_metrics = yaml.safe_load((project.path / "data/train/metrics.json").read_text())

    for stage in ("download", "vocab", "tokenize"):
        assert second_lock["stages"][stage]["outs"] == first_lock["stages"][stage]["outs"]
    # Same seed, same CPU: the same figures for every epoch, whatever the time taken.
    first_metrics.pop("train_seconds")
    second_metrics.pop("train_seconds")
    assert second_metrics == first_metrics
