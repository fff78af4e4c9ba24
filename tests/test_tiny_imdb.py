"""Tests for :mod:`tiny_imdb`: the tiny copy must be readable by plain ``tfds.load``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from tiny_imdb import (  # noqa: E402  (after importorskip)
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    TEST_ONLY_WORDS,
    build_tiny_imdb,
    make_reviews,
)

PER_LABEL = 12
UNSUP = 7
_WORD = re.compile(r"[a-zà-ÿ']+")


def _no_network(*_args: Any, **_kwargs: Any) -> None:
    """Stand-in for socket functions: any network access fails the build."""
    raise AssertionError("tiny_imdb tried to reach the network")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the tiny dataset once per module, with the network blocked."""
    root = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        mp.setattr(socket, "getaddrinfo", _no_network)
        assert build_tiny_imdb(root, reviews_per_label=PER_LABEL, unsupervised=UNSUP) == root
    yield root


def _load(data_dir: Path, split: str) -> list[tuple[str, int]]:
    """Return ``(text, label)`` pairs of ``split`` read through plain ``tfds.load``."""
    ds = tfds.load("imdb_reviews", split=split, data_dir=str(data_dir), download=False)
    return [(ex["text"].decode("utf-8"), int(ex["label"])) for ex in tfds.as_numpy(ds)]


def _words(text: str) -> set[str]:
    """Return the lowercase word tokens of ``text``."""
    return set(_WORD.findall(text.lower().replace("<br />", " ")))


@pytest.fixture(scope="module")
def splits(data_dir: Path) -> dict[str, list[tuple[str, int]]]:
    """All three splits, loaded once."""
    return {name: _load(data_dir, name) for name in ("train", "test", "unsupervised")}


def test_prepared_layout(data_dir: Path) -> None:
    """Files are in tfds's prepared layout, and nothing else is left in data_dir."""
    version_dir = data_dir / "imdb_reviews" / "plain_text" / "1.0.0"
    assert (version_dir / "dataset_info.json").is_file()
    for split in ("train", "test", "unsupervised"):
        assert list(version_dir.glob(f"imdb_reviews-{split}.tfrecord-*"))
    assert sorted(p.name for p in data_dir.iterdir()) == ["imdb_reviews"]
    builder = tfds.builder("imdb_reviews", data_dir=str(data_dir))
    assert builder.info.splits["train"].num_examples == 2 * PER_LABEL


@pytest.mark.parametrize("split", ["train", "test"])
def test_labelled_splits_are_balanced(
    splits: dict[str, list[tuple[str, int]]], split: str
) -> None:
    """Train and test hold ``reviews_per_label`` reviews of each label."""
    labels = [label for _, label in splits[split]]
    assert len(labels) == 2 * PER_LABEL
    assert labels.count(0) == PER_LABEL
    assert labels.count(1) == PER_LABEL


def test_unsupervised_split(splits: dict[str, list[tuple[str, int]]]) -> None:
    """The unsupervised split has the requested size and label -1."""
    assert len(splits["unsupervised"]) == UNSUP
    assert {label for _, label in splits["unsupervised"]} == {-1}


def test_test_only_words(splits: dict[str, list[tuple[str, int]]]) -> None:
    """Marker words are all in test and never in train or unsupervised."""
    test_words = set().union(*(_words(t) for t, _ in splits["test"]))
    assert set(TEST_ONLY_WORDS) <= test_words
    for split in ("train", "unsupervised"):
        for text, _ in splits[split]:
            assert not any(marker in text.lower() for marker in TEST_ONLY_WORDS)


def test_text_features(splits: dict[str, list[tuple[str, int]]]) -> None:
    """Train has long reviews, HTML line breaks and accented characters."""
    texts = [t for t, _ in splits["train"]]
    lengths = [len(t.split()) for t in texts]
    assert min(lengths) >= 5
    assert max(lengths) >= 300
    assert any("<br /><br />" in t for t in texts)
    assert any("café" in t or "naïve" in t or "cliché" in t for t in texts)


def test_reviews_are_learnable(splits: dict[str, list[tuple[str, int]]]) -> None:
    """A trivial lexicon classifier separates the labels of the test split."""

    def hits(text: str, pool: tuple[str, ...]) -> int:
        return sum(len(re.findall(rf"\b{re.escape(w)}\b", text.lower())) for w in pool)

    for text, label in splits["test"]:
        score = hits(text, POSITIVE_WORDS) - hits(text, NEGATIVE_WORDS)
        assert (score > 0) == (label == 1), text


def test_slice(data_dir: Path) -> None:
    """The tfds slicing syntax works on the tiny copy."""
    assert len(_load(data_dir, "train[:10]")) == 10
    assert len(_load(data_dir, "test[50%:]")) == PER_LABEL


def test_texts_match_make_reviews(splits: dict[str, list[tuple[str, int]]]) -> None:
    """What tfds reads is exactly what :func:`make_reviews` generates."""
    reviews = make_reviews(PER_LABEL, UNSUP, seed=0)
    for split, directory in (("train", "train"), ("test", "test")):
        expected = {(t, 1) for _, t in reviews[f"{directory}/pos"]}
        expected |= {(t, 0) for _, t in reviews[f"{directory}/neg"]}
        assert set(splits[split]) == expected
    assert {t for t, _ in splits["unsupervised"]} == {t for _, t in reviews["train/unsup"]}


def test_deterministic() -> None:
    """Same seed gives the same texts; another seed gives other texts."""
    assert make_reviews(5, 3, seed=1) == make_reviews(5, 3, seed=1)
    assert make_reviews(5, 3, seed=1) != make_reviews(5, 3, seed=2)


def test_invalid_counts(tmp_path: Path) -> None:
    """Counts below one are rejected before anything is written."""
    with pytest.raises(ValueError):
        build_tiny_imdb(tmp_path, reviews_per_label=0)
    with pytest.raises(ValueError):
        build_tiny_imdb(tmp_path, unsupervised=0)
    assert not list(tmp_path.iterdir())


def test_rebuild_replaces(tmp_path: Path) -> None:
    """Building again into the same data_dir replaces the previous copy."""
    build_tiny_imdb(tmp_path, reviews_per_label=3, unsupervised=2)
    build_tiny_imdb(tmp_path, reviews_per_label=2, unsupervised=1, seed=5)
    assert len(_load(tmp_path, "train")) == 4
    assert len(_load(tmp_path, "unsupervised")) == 1


def test_env_data_dir(data_dir: Path) -> None:
    """``TFDS_DATA_DIR`` works too (it must be set before tfds is imported)."""
    code = textwrap.dedent(
        """
        import tensorflow_datasets as tfds
        ds = tfds.load("imdb_reviews", split="test", download=False)
        print("COUNT", sum(1 for _ in ds))
        """
    )
    env = {**os.environ, "TFDS_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"COUNT {2 * PER_LABEL}" in out.stdout
