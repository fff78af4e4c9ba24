"""`dvc repro` on the tiny dataset: outputs, caching, and the DVC commands users run.

Which stages ran is read from DVC's own output ("Running stage 'X'"), never from timing.
"""

from __future__ import annotations

import json

import pandas as pd
import yaml
from conftest import Project

from stages.vocab import learn_vocabulary
from tiny_imdb import TEST_ONLY_WORDS

ALL_STAGES = {"check", "download", "vocab", "tokenize", "train", "export", "evaluate"}
TEST_METRICS = {"accuracy", "loss", "precision", "recall", "f1", "roc_auc"}


def test_repro_writes_every_stage_output(reproduced: Project) -> None:
    data = reproduced.path / "data"
    for split in ("train", "test"):
        table = pd.read_parquet(data / "raw" / f"{split}.parquet")
        assert list(table.columns) == ["text", "label"]
        assert len(table) == 80 and set(table["label"]) == {0, 1}
        assert table["text"].map(type).eq(str).all()
    counts = json.loads((data / "raw" / "counts.json").read_text())
    assert counts["train"] == {"neg": 40, "pos": 40, "total": 80}

    vocabulary = (data / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocabulary[:2] == ["[PAD]", "[UNK]"]
    assert len(vocabulary) <= 400

    stats = json.loads((data / "tokenized" / "stats.json").read_text())
    assert stats["sequence_length"] == 64 and stats["padding"] == "pre"
    assert {split: s["reviews"] for split, s in stats["splits"].items()} == {
        "train": 72, "validation": 8, "test": 80}
    assert 0 < stats["splits"]["train"]["truncated_share"] < 1
    assert {"p50", "p90", "p99", "max"} <= set(stats["splits"]["test"]["tokens"])

    assert (data / "model.keras").stat().st_size > 0


def test_vocabulary_is_learned_from_train_reviews_only(reproduced: Project) -> None:
    vocabulary = set((reproduced.path / "data" / "vocab.txt").read_text().splitlines())
    # The tiny train split has fewer distinct tokens than vocab.size, so every whole word the
    # stage saw is in the vocabulary...
    assert len(vocabulary) < 400
    assert not vocabulary & set(TEST_ONLY_WORDS)

    # ...and the same trainer given the test reviews too learns the test-only words.
    raw = reproduced.path / "data" / "raw"
    every_review = pd.concat([pd.read_parquet(raw / f"{s}.parquet") for s in ("train", "test")])
    leaked = set(learn_vocabulary(every_review["text"].tolist(), 5000, lowercase=True))
    assert leaked & set(TEST_ONLY_WORDS)


def test_training_metrics_and_plots_are_logged_per_epoch(reproduced: Project) -> None:
    live = reproduced.path / "data" / "train"
    metrics = json.loads((live / "metrics.json").read_text())
    assert set(metrics["train"]) == {"accuracy", "loss"}
    assert set(metrics["eval"]) == {"accuracy", "loss"}
    assert metrics["parameters"] > 0
    curve = pd.read_csv(live / "plots" / "metrics" / "eval" / "accuracy.tsv", sep="\t")
    assert list(curve["step"]) == [0]


def test_evaluation_metrics_plots_and_predictions(reproduced: Project) -> None:
    live = reproduced.path / "data" / "evaluate"
    metrics = json.loads((live / "metrics.json").read_text())
    assert set(metrics) >= TEST_METRICS
    assert all(0 <= metrics[name] <= 1 for name in TEST_METRICS - {"loss"})
    for plot in ("roc", "precision_recall", "confusion_matrix"):
        assert (live / "plots" / "sklearn" / f"{plot}.json").exists()

    predictions = pd.read_parquet(live / "predictions.parquet")
    assert list(predictions.columns) == ["review_index", "label", "probability", "predicted"]
    assert list(predictions["review_index"]) == list(range(80))
    test_labels = pd.read_parquet(reproduced.path / "data" / "raw" / "test.parquet")["label"]
    assert list(predictions["label"]) == list(test_labels)
    accuracy = (predictions["label"] == predictions["predicted"]).mean()
    assert abs(accuracy - metrics["accuracy"]) < 1e-6


def test_dvc_commands_users_run(reproduced: Project) -> None:
    shown = reproduced.dvc("metrics", "show").stdout
    assert "data/evaluate/metrics.json" in shown and "roc_auc" in shown

    assert reproduced.dvc("status").stdout.strip().endswith("up to date.")

    plots = reproduced.dvc("plots", "show", "-o", "plots_html").stdout
    assert "plots_html" in plots
    page = (reproduced.path / "plots_html" / "index.html").read_text()
    assert "ROC on the test split" in page and "eval/accuracy.tsv" in page

    reproduced.set_params(evaluate={"threshold": 0.7})
    diff = reproduced.dvc("params", "diff").stdout
    assert "evaluate.threshold" in diff and "0.5" in diff and "0.7" in diff
    reproduced.run("git", "checkout", "params.yaml")


def test_experiments_run_and_show(reproduced: Project) -> None:
    reproduced.dvc("exp", "run", "-S", "train.epochs=2", "-n", "two-epochs")
    table = reproduced.dvc("exp", "show", "--json").stdout
    experiments = json.dumps(json.loads(table))
    assert "two-epochs" in experiments and "roc_auc" in experiments
    csv = reproduced.dvc("exp", "show", "--csv").stdout
    assert "train.epochs" in csv
    reproduced.dvc("exp", "apply", "two-epochs")
    curve = (reproduced.path / "data" / "train" / "plots" / "metrics" / "eval" / "loss.tsv")
    assert len(pd.read_csv(curve, sep="\t")) == 2

    # The applied experiment's metrics against the last commit's.
    diff = reproduced.dvc("metrics", "diff").stdout
    assert "data/train/metrics.json" in diff and "epochs_run" in diff
    reproduced.run("git", "checkout", "params.yaml", "dvc.lock")
    reproduced.dvc("checkout", "-f")


def test_changes_rerun_only_the_stages_that_depend_on_them(project: Project) -> None:
    assert project.repro() == ALL_STAGES
    assert project.repro() == set()

    # Any change to params.yaml reruns the check stage first, then what reads the key.
    project.set_params(evaluate={"threshold": 0.6})
    assert project.repro() == {"check", "evaluate"}

    project.set_params(train={"epochs": 2})
    assert project.repro() == {"check", "train", "export", "evaluate"}

    project.set_params(tokenize={"max_length": 48})
    assert project.repro("tokenize") == {"check", "tokenize"}
    assert project.repro() == {"train", "export", "evaluate"}

    project.set_params(vocab={"size": 380})
    assert project.repro() == {"check", "vocab", "tokenize", "train", "export", "evaluate"}

    project.set_params(download={"train_split": "train[:90%]"})
    assert project.repro() == ALL_STAGES
    lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    assert lock["stages"]["download"]["params"]["params.yaml"]["download"]["train_split"] == (
        "train[:90%]")
    assert len(pd.read_parquet(project.path / "data" / "raw" / "train.parquet")) == 72
