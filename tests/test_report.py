"""The experiments report: `dvc exp show --json` as a pandas table and a plot."""

from __future__ import annotations

import sys

import pandas as pd
from conftest import Project


def test_report_compares_an_experiment_with_its_commit(reproduced: Project) -> None:
    reproduced.dvc("exp", "run", "-S", "train.lstm_units=[8]", "-n", "one-layer")
    try:
        result = reproduced.run(sys.executable, "-m", "stages.report")
    finally:
        reproduced.run("git", "checkout", "params.yaml", "dvc.lock")
        reproduced.dvc("checkout", "--force")

    reports = reproduced.path / "reports"
    table = pd.read_csv(reports / "experiments.csv").set_index("experiment")
    assert "one-layer" in table.index and len(table) >= 2
    commit = table.drop(index="one-layer").iloc[0]
    one_layer = table.loc["one-layer"]

    # The varied param and the figures that tell the two apart.
    assert one_layer["train.lstm_units"] == "[8]" and commit["train.lstm_units"] == "[32, 16]"
    assert one_layer["parameters"] < commit["parameters"]
    for column in ("test_accuracy", "roc_auc", "best_val_accuracy", "train_seconds"):
        assert 0 < one_layer[column] and 0 < commit[column], column
    assert "train.epochs" not in table.columns  # the same in every row
    assert (reports / "experiments.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "one-layer" in result.stdout


def test_report_rejects_input_that_is_not_exp_show(tmp_path) -> None:
    from stages.report import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}', encoding="utf-8")
    assert main(["--input", str(bad), "--output", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
