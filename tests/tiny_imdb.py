"""Build a tiny, offline copy of the tfds ``imdb_reviews`` dataset for tests.

The copy is written in tfds's own *prepared* layout
(``<data_dir>/imdb_reviews/plain_text/1.0.0/...``) by tfds's real
``imdb_reviews`` builder: we only write a tiny ``aclImdb_v1.tar.gz`` with the
structure of the real archive and make ``DownloadManager.download`` return its
path instead of fetching the Stanford URL.  Afterwards the unmodified
``tfds.load("imdb_reviews", split=..., data_dir=data_dir)`` (or with
``TFDS_DATA_DIR=data_dir``) reads it without any network access.

The reviews are synthetic but *learnable*: positive reviews are built mostly
from a pool of positive words, negative reviews from a pool of negative words,
both mixed with shared neutral filler.  They have varied lengths (a few are
~400 words long so that truncation is exercised), contain ``<br /><br />``
like real IMDB reviews and a few accented characters.  The test split also
contains the marker words in :data:`TEST_ONLY_WORDS`, which never appear in
the train or unsupervised splits.
"""

from __future__ import annotations

import gzip
import io
import logging
import random
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

__all__ = [
    "DATASET_NAME",
    "NEGATIVE_WORDS",
    "NEUTRAL_WORDS",
    "POSITIVE_WORDS",
    "TEST_ONLY_WORDS",
    "build_tiny_imdb",
    "make_reviews",
]

logger = logging.getLogger(__name__)

DATASET_NAME = "imdb_reviews"
"""Name of the tfds dataset that is faked."""

_CONFIG = "plain_text"
_VERSION = "1.0.0"
_ARCHIVE_NAME = "aclImdb_v1.tar.gz"
_EXPECTED_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"

TEST_ONLY_WORDS: tuple[str, ...] = (
    "zyxtestonly",
    "qwvmarkerword",
    "jjkunseenterm",
    "vvxholdoutword",
    "kqzneverintrain",
)
"""Marker words that appear in the test split only (never in train/unsupervised)."""

POSITIVE_WORDS: tuple[str, ...] = (
    "wonderful",
    "brilliant",
    "excellent",
    "superb",
    "delightful",
    "masterpiece",
    "beautiful",
    "moving",
    "charming",
    "touching",
    "hilarious",
    "gripping",
    "stunning",
    "enjoyable",
    "loved",
    "fantastic",
    "great",
    "memorable",
    "a joy to watch",
    "highly recommended",
    "a real gem",
    "perfectly cast",
    "beautifully shot",
    "a must see",
)
"""Words and phrases that only positive reviews are built from."""

NEGATIVE_WORDS: tuple[str, ...] = (
    "awful",
    "terrible",
    "boring",
    "dreadful",
    "horrible",
    "dull",
    "pointless",
    "stupid",
    "mediocre",
    "disappointing",
    "lame",
    "painful",
    "tedious",
    "worst",
    "hated",
    "garbage",
    "annoying",
    "poorly",
    "a waste of time",
    "badly acted",
    "a total mess",
    "fell asleep",
    "avoid at all costs",
    "utterly forgettable",
)
"""Words and phrases that only negative reviews are built from."""

NEUTRAL_WORDS: tuple[str, ...] = (
    "the",
    "movie",
    "film",
    "story",
    "plot",
    "actor",
    "actress",
    "director",
    "scene",
    "scenes",
    "character",
    "characters",
    "ending",
    "music",
    "camera",
    "script",
    "this",
    "was",
    "is",
    "and",
    "with",
    "of",
    "it",
    "in",
    "about",
    "really",
    "very",
    "quite",
    "just",
    "some",
    "I",
    "we",
    "watched",
    "saw",
    "time",
    "year",
    "cinema",
    "theater",
    "sequel",
    "dialogue",
    "it's",
    "didn't",
    "one",
    "two",
)
"""Shared filler words used by reviews of both labels."""

_ACCENTED_WORDS: tuple[str, ...] = ("café", "naïve", "cliché", "fiancée", "résumé")
_BR = "<br /><br />"
_SHORT_RANGE = (5, 120)
_LONG_RANGE = (380, 420)
_LONG_EVERY = 10  # Review i of each (split, label) group is long when i % _LONG_EVERY == 0.
_POS_RATINGS = (7, 8, 9, 10)
_NEG_RATINGS = (1, 2, 3, 4)


def _sentences(
    rng: random.Random,
    n_words: int,
    own: Sequence[str],
    other: Sequence[str],
    extra: Sequence[str] = (),
) -> str:
    """Return a review of about ``n_words`` words built from the given pools.

    Args:
        rng: Random source.
        n_words: Target number of words (multi-word phrases count as one slot).
        own: Sentiment pool of the review's label; about 30% of the slots.
        other: Opposite sentiment pool, used rarely and only in long reviews.
        extra: Words that must appear in the review (e.g. marker words).

    Returns:
        The review text, with sentences, punctuation and ``<br /><br />``.
    """
    n_words = max(n_words, 2 + len(extra))
    slots: list[str] = [rng.choice(own), rng.choice(own)]  # Always >= 2 sentiment cues.
    slots.extend(extra)
    while len(slots) < n_words:
        roll = rng.random()
        if roll < 0.30:
            slots.append(rng.choice(own))
        elif roll < 0.32 and n_words >= 40 and other:
            slots.append(rng.choice(other))
        elif roll < 0.34:
            slots.append(rng.choice(_ACCENTED_WORDS))
        else:
            slots.append(rng.choice(NEUTRAL_WORDS))
    rng.shuffle(slots)
    parts: list[str] = []
    i = 0
    while i < len(slots):
        size = rng.randint(4, 14)
        sentence = " ".join(slots[i : i + size])
        i += size
        sentence = sentence[0].upper() + sentence[1:] + rng.choice((".", ".", ".", "!"))
        if parts:
            parts.append(_BR if rng.random() < 0.25 else " ")
        parts.append(sentence)
    return "".join(parts)


def _length(rng: random.Random, index: int) -> int:
    """Return the word count of review ``index`` of a group (a few are long)."""
    if index % _LONG_EVERY == 0:
        return rng.randint(*_LONG_RANGE)
    return rng.randint(*_SHORT_RANGE)


def make_reviews(
    reviews_per_label: int = 40, unsupervised: int = 10, seed: int = 0
) -> dict[str, list[tuple[str, str]]]:
    """Return the synthetic reviews, keyed by archive directory.

    Args:
        reviews_per_label: Number of reviews per label in train and in test.
        unsupervised: Number of unlabelled reviews (``aclImdb/train/unsup``).
        seed: Seed; the same seed always gives the same texts.

    Returns:
        A dict mapping ``"train/pos"``, ``"train/neg"``, ``"test/pos"``,
        ``"test/neg"`` and ``"train/unsup"`` to lists of
        ``(file_name, text)`` pairs, file names being ``<id>_<rating>.txt``.

    Raises:
        ValueError: If ``reviews_per_label`` < 1 or ``unsupervised`` < 1.
    """
    if reviews_per_label < 1:
        raise ValueError(f"reviews_per_label must be >= 1, got {reviews_per_label}")
    if unsupervised < 1:
        raise ValueError(f"unsupervised must be >= 1, got {unsupervised}")
    pools = {"pos": (POSITIVE_WORDS, NEGATIVE_WORDS), "neg": (NEGATIVE_WORDS, POSITIVE_WORDS)}
    ratings = {"pos": _POS_RATINGS, "neg": _NEG_RATINGS}
    out: dict[str, list[tuple[str, str]]] = {}
    marker = 0
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            rng = random.Random(f"{seed}/{split}/{label}")
            own, other = pools[label]
            group: list[tuple[str, str]] = []
            for i in range(reviews_per_label):
                extra: tuple[str, ...] = ()
                if split == "test":
                    # One marker per test review, cycling; the first test review
                    # gets all of them so that each appears even for tiny sizes.
                    if marker == 0:
                        extra = TEST_ONLY_WORDS
                    else:
                        extra = (TEST_ONLY_WORDS[marker % len(TEST_ONLY_WORDS)],)
                    marker += 1
                text = _sentences(rng, _length(rng, i), own, other, extra)
                group.append((f"{i}_{rng.choice(ratings[label])}.txt", text))
            out[f"{split}/{label}"] = group
    rng = random.Random(f"{seed}/train/unsup")
    unsup: list[tuple[str, str]] = []
    for i in range(unsupervised):
        own, other = pools[rng.choice(("pos", "neg"))]
        unsup.append((f"{i}_0.txt", _sentences(rng, _length(rng, i), own, other)))
    out["train/unsup"] = unsup
    return out


def _write_archive(path: Path, reviews: dict[str, list[tuple[str, str]]]) -> None:
    """Write ``reviews`` as a deterministic ``aclImdb_v1.tar.gz`` at ``path``."""
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for directory, files in reviews.items():
            for name, text in files:
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"aclImdb/{directory}/{name}")
                info.size = len(data)
                info.mtime = 0
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))


def build_tiny_imdb(
    data_dir: Path, reviews_per_label: int = 40, unsupervised: int = 10, seed: int = 0
) -> Path:
    """Prepare a tiny ``imdb_reviews/plain_text:1.0.0`` in ``data_dir`` with no network.

    tfds's real ``imdb_reviews`` builder writes the files; only
    ``tfds.download.DownloadManager.download`` is patched (for the duration of
    this call) to return a locally written archive.  Downloads and extraction
    temporaries go to a temporary directory, so only ``data_dir`` is written.
    A copy already prepared in ``data_dir`` is replaced.

    Args:
        data_dir: tfds data directory to write into (created if missing).
        reviews_per_label: Reviews per label (``neg``/``pos``) in train and test.
        unsupervised: Number of examples in the ``unsupervised`` split.
        seed: Seed for the texts; the same seed always gives the same texts.

    Returns:
        ``data_dir``, usable as ``tfds.load(..., data_dir=data_dir)``.

    Raises:
        ValueError: If a count is < 1.
        RuntimeError: If the builder asks to download anything but the archive.
    """
    import tensorflow_datasets as tfds  # Imported lazily: it is slow to import.

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    reviews = make_reviews(reviews_per_label, unsupervised, seed)
    with tempfile.TemporaryDirectory(prefix="tiny_imdb_") as tmp:
        archive = Path(tmp) / _ARCHIVE_NAME
        _write_archive(archive, reviews)

        def fake_download(_self: Any, url_or_urls: Any) -> Any:
            """Return the local archive for the IMDB URL; refuse anything else."""
            if str(url_or_urls) != _EXPECTED_URL:
                raise RuntimeError(f"tiny_imdb: unexpected download of {url_or_urls!r}")
            return tfds.core.Path(archive)

        # Instantiate the builder class itself: `tfds.builder("name:version")` would return
        # a ReadOnlyBuilder (which cannot generate) when data_dir already holds a copy.
        builder_cls = tfds.builder_cls(DATASET_NAME)
        builder = builder_cls(config=_CONFIG, version=_VERSION, data_dir=str(data_dir))
        config = tfds.download.DownloadConfig(
            try_download_gcs=False,
            download_mode=tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS,
        )
        with mock.patch.object(tfds.download.DownloadManager, "download", fake_download):
            builder.download_and_prepare(
                download_dir=str(Path(tmp) / "downloads"), download_config=config
            )
    logger.info(
        "Built tiny %s in %s (%d per label, %d unsupervised, seed %d)",
        DATASET_NAME,
        data_dir,
        reviews_per_label,
        unsupervised,
        seed,
    )
    return data_dir
