"""Smoke run of the whole pipeline on a slice of the real IMDB reviews.

Needs a prepared tfds copy of imdb_reviews (see the README); it is looked for in
REAL_TFDS_DATA_DIR, then TFDS_DATA_DIR, then ~/tensorflow_datasets, and the test is skipped
when none holds one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import create_project

PREPARED = Path("imdb_reviews") / "plain_text" / "1.0.0" / "dataset_info.json"


def real_tfds_dir() -> Path | None:
    """The first candidate tfds data directory that holds a prepared imdb_reviews."""
    candidates = [os.environ.get("REAL_TFDS_DATA_DIR"), os.environ.get("TFDS_DATA_DIR"),
                  str(Path.home() / "tensorflow_datasets")]
    return next((Path(c) for c in candidates if c and (Path(c) / PREPARED).exists()), None)


@pytest.mark.skipif(real_tfds_dir() is None,
                    reason="no prepared imdb_reviews in REAL_TFDS_DATA_DIR, TFDS_DATA_DIR or"
                           " ~/tensorflow_datasets (unpack imdb_reviews-tfds.tar.xz there)")
def test_pipeline_on_a_slice_of_real_reviews(tmp_path: Path) -> None:
    project = create_project(tmp_path / "project", real_tfds_dir())
    project.set_params(
        download={"train_split": "train[:3000]", "test_split": "test[:1000]"},
        vocab={"size": 3000},
        tokenize={"max_length": 200},
        # A quick, unregularised recipe: the defaults are tuned for 20 epochs on 22,500 reviews.
        train={"epochs": 2, "batch_size": 64, "dropout": 0.0, "learning_rate": 0.001})
    assert project.repro() == {"check", "download", "vocab", "tokenize", "train", "export",
                              "evaluate"}

    data = project.path / "data"
    assert len(pd.read_parquet(data / "raw" / "train.parquet")) == 3000
    stats = json.loads((data / "tokenized" / "stats.json").read_text())
    assert stats["splits"]["test"]["reviews"] == 1000
    assert stats["splits"]["train"]["unknown_share"] < 0.01

    # Two short epochs on 2,700 reviews already beat chance clearly.
    metrics = json.loads((data / "evaluate" / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.7, metrics
