"""Where each stage reads and writes, relative to the project root (see dvc.yaml)."""

from pathlib import Path

DATA = Path("data")

# Written by the check stage once params.yaml is valid; every other stage depends on it.
PARAMS_CHECKED = DATA / "params.ok"

RAW = DATA / "raw"
LABEL_COUNTS = RAW / "counts.json"

VOCABULARY = DATA / "vocab.txt"

TOKENIZED = DATA / "tokenized"
TOKEN_STATS = TOKENIZED / "stats.json"

MODEL = DATA / "model.keras"
TRAIN_LIVE = DATA / "train"
# Progress of an unfinished train stage, which no stage declares, so DVC leaves it in place.
TRAIN_BACKUP = DATA / "train-backup"

# The SavedModel that takes raw review text (export stage; read by `stages.predict`).
EXPORT = DATA / "export"

EVALUATE_LIVE = DATA / "evaluate"
PREDICTIONS = EVALUATE_LIVE / "predictions.parquet"


def raw_split(split: str) -> Path:
    """The Parquet table of one raw split ("train" or "test")."""
    return RAW / f"{split}.parquet"


def records(split: str) -> Path:
    """The TFRecord file of one tokenized split ("train", "validation" or "test")."""
    return TOKENIZED / f"{split}.tfrecord"
