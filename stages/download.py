"""Download stage: IMDB reviews from tensorflow-datasets into Parquet tables.

The Large Movie Review Dataset (Maas et al., 2011) holds 50,000 English movie reviews from
IMDB, half positive (rating >= 7 of 10) and half negative (<= 4), split evenly into train and
test. tfds prepares it once under its data directory (`TFDS_DATA_DIR`, by default
`~/tensorflow_datasets`); this stage reads the configured splits from there and writes
`data/raw/{train,test}.parquet` (columns `text`, `label`) and per-label counts.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from urllib.parse import urlparse

import pandas as pd
import tensorflow_datasets as tfds

from stages import paths
from stages.params import DownloadParams, load_params
from stages.runner import StageError, run_stage

log = logging.getLogger("stages.download")

DATASET = "imdb_reviews"
# Where tfds fetches the archive from; probed first so that an offline machine fails at once
# instead of after minutes of retries.
SOURCE_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


def data_dir() -> str:
    """The tfds data directory in use: `TFDS_DATA_DIR` or tfds's default."""
    return os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def prepared_builder() -> tfds.core.DatasetBuilder:
    """Return the imdb_reviews builder, downloading and preparing it first if needed."""
    builder = tfds.builder(DATASET, data_dir=data_dir())
    if builder.is_prepared():
        log.info("found prepared %s in %s", DATASET, builder.data_dir)
        return builder

    host = urlparse(SOURCE_URL).hostname
    missing = (f"IMDB is not prepared in {data_dir()} and cannot be downloaded"
               f" ({host} is unreachable). Put a prepared copy there, i.e. the folder"
               f" {DATASET}/plain_text/1.0.0 as tfds writes it, or set TFDS_DATA_DIR to a"
               " directory that holds one (default ~/tensorflow_datasets)")
    try:
        socket.create_connection((host, 80), timeout=10).close()
    except OSError:
        raise StageError(missing) from None

    log.info("downloading %s into %s (about 80 MB, once)", DATASET, data_dir())
    try:
        builder.download_and_prepare()
    except Exception as error:  # tfds raises many types for network and disk failures
        raise StageError(f"{missing}; tfds said: {error}") from None
    return builder


def load_split(builder: tfds.core.DatasetBuilder, split: str) -> pd.DataFrame:
    """Read one tfds split (slices like `train[:10%]` allowed) as a `text`/`label` table."""
    try:
        dataset = builder.as_dataset(split=split)
    except (ValueError, KeyError) as error:
        available = ", ".join(builder.info.splits)
        raise StageError(f"split {split!r} is not a valid split of {DATASET}: {error}."
                         f" Available splits: {available}; slices such as 'train[:2000]'"
                         " or 'train[:10%]' work too") from None

    texts, labels = [], []
    for example in tfds.as_numpy(dataset):
        texts.append(example["text"].decode("utf-8"))
        labels.append(int(example["label"]))
    if not texts:
        raise StageError(f"split {split!r} of {DATASET} holds no reviews")
    return pd.DataFrame({"text": pd.Series(texts, dtype=str),
                         "label": pd.Series(labels, dtype="int64")})


def label_counts(table: pd.DataFrame, names: list[str]) -> dict[str, int]:
    """Reviews per label name, plus the total."""
    counts = {name: int((table["label"] == index).sum()) for index, name in enumerate(names)}
    return counts | {"total": len(table)}


def main() -> None:
    params: DownloadParams = load_params().download
    builder = prepared_builder()
    label_names = builder.info.features["label"].names

    # Read both splits before writing anything, so a bad split string leaves no partial output.
    tables = {role: load_split(builder, split)
              for role, split in (("train", params.train_split), ("test", params.test_split))}

    # One table per split, named by its role rather than by the tfds split string.
    paths.RAW.mkdir(parents=True, exist_ok=True)
    counts = {}
    for role, table in tables.items():
        table.to_parquet(paths.raw_split(role), index=False)
        counts[role] = label_counts(table, label_names)
        log.info("%s: %s", role, counts[role])

    with paths.LABEL_COUNTS.open("w", encoding="utf-8") as stream:
        json.dump(counts, stream, indent=2)


if __name__ == "__main__":
    run_stage(main)
