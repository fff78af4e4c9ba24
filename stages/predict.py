"""Predict command: classify raw reviews with the exported model of the export stage.

    python -m stages.predict "A wonderful film." "Dull and far too long."
    python -m stages.predict - < reviews.txt            # one review per line
    python -m stages.predict --file reviews.csv --column text --output predictions.parquet

Prints one row per review, in input order: an excerpt, `positive` or `negative`, and the
probability of a positive review (JSON lines with `--json`). `--output` also writes the full
results as a CSV or Parquet table. An empty or whitespace-only review is reported as skipped
and the others are still classified. Reviews are scored in batches of similar length, so one
very long review does not pad a whole batch. Needs TensorFlow, tensorflow-text and pandas, and
none of the training code.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the exported graph uses)

from stages import paths
from stages.params import PARAMS_FILE, ParamsError, load_params
from stages.runner import StageError, run_stage

log = logging.getLogger("stages.predict")

# The export stage's serving signature (see stages/export.py).
SIGNATURE = "serving_default"
INPUT_NAME = "reviews"
OUTPUT_NAME = "probability"

DEFAULT_THRESHOLD = 0.5
DEFAULT_BATCH_SIZE = 128
# A batch is cut before its reviews, padded to the longest, would exceed this many characters
# (about 4 per token), so one very long review is scored on its own.
MAX_BATCH_CHARACTERS = 400_000
EXCERPT_WIDTH = 60

SKIPPED = "skipped"
TABLE_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]{0,40}>")


def threshold_value(text: str) -> float:
    """An argparse type: a probability between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stages.predict",
        description="Classify movie reviews as positive or negative with the exported model.")
    parser.add_argument("reviews", nargs="*", metavar="REVIEW",
                        help="reviews to classify; `-` reads one review per line from stdin")
    parser.add_argument("--file", type=Path,
                        help="a .csv or .parquet table of reviews, one per row")
    parser.add_argument("--column", default="text",
                        help="the column of --file that holds the reviews (default: text)")
    parser.add_argument("--model", type=Path, default=paths.EXPORT,
                        help=f"the exported model (default: {paths.EXPORT})")
    parser.add_argument("--threshold", type=threshold_value,
                        help="probability at or above which a review is positive (default:"
                             f" evaluate.threshold of params.yaml, else {DEFAULT_THRESHOLD})")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per review instead of a text row")
    parser.add_argument("--output", type=Path,
                        help="also write the full results to this .csv or .parquet table")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"most reviews scored at once (default: {DEFAULT_BATCH_SIZE})")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def default_threshold() -> float:
    """`evaluate.threshold` from params.yaml in the working directory, else 0.5."""
    if not PARAMS_FILE.exists():
        log.info("no %s here: threshold %s", PARAMS_FILE, DEFAULT_THRESHOLD)
        return DEFAULT_THRESHOLD
    try:
        return load_params().evaluate.threshold
    except ParamsError as error:
        log.warning("threshold %s, as %s is unusable: %s", DEFAULT_THRESHOLD, PARAMS_FILE, error)
        return DEFAULT_THRESHOLD


def table_format(path: Path) -> str:
    """CSV or Parquet, by the file's suffix."""
    try:
        return TABLE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise StageError(f"cannot tell the format of {path} by its suffix: name a .csv or"
                         " .parquet file") from None


def read_reviews_file(path: Path, column: str) -> list[str]:
    """The reviews in one column of a CSV or Parquet table; missing cells become empty."""
    kind = table_format(path)
    try:
        if kind == "CSV":
            # Every cell as text: a review reading "NA" or "42" stays a review.
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            table = pd.read_parquet(path)
    except FileNotFoundError:
        raise StageError(f"{path} does not exist") from None
    except OSError as error:
        raise StageError(f"cannot read {path}: {error.strerror or error}") from None
    except Exception as error:  # pandas and pyarrow raise many types for malformed files
        raise StageError(f"cannot read {path} as {kind}: {first_line(error)}") from None

    if column not in table.columns:
        available = ", ".join(map(str, table.columns)) or "none"
        raise StageError(f"{path} has no column {column!r}; its columns are: {available}."
                         " Name the one holding the reviews with --column")
    return ["" if pd.isna(value) else str(value) for value in table[column]]


def read_stdin() -> list[str]:
    """One review per line of standard input (read as UTF-8, undecodable bytes replaced)."""
    if sys.stdin.isatty():
        log.info("reading reviews from standard input, one per line; end with Ctrl-D")
    text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def gather_reviews(args: argparse.Namespace) -> list[str]:
    """Every review to classify, in input order, from the arguments, stdin or --file."""
    if args.file is not None and args.reviews:
        raise StageError("give reviews either as arguments (or `-`) or with --file, not both")
    if args.file is not None:
        reviews = read_reviews_file(args.file, args.column)
        if not reviews:
            raise StageError(f"{args.file} holds no reviews")
    else:
        if args.reviews.count("-") > 1:
            raise StageError("`-` (reviews from standard input) may be given only once")
        reviews = []
        for review in args.reviews:
            reviews.extend(read_stdin() if review == "-" else [review])
    if not reviews:
        raise StageError("no reviews given: pass reviews as arguments, `-` to read one per"
                         " line from standard input, or --file TABLE")

    # Arguments that were not valid UTF-8 reach Python as lone surrogates; replace them.
    return [review.encode("utf-8", errors="replace").decode("utf-8") for review in reviews]


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, which for TensorFlow can run for pages."""
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


class ExportedModel:
    """The export stage's SavedModel: raw reviews in, probabilities of positive out."""

    def __init__(self, path: Path) -> None:
        rebuild = "run `dvc repro export` to build it, or pass its folder with --model"
        if not (path / "saved_model.pb").is_file():
            raise StageError(f"no exported model in {path}: {rebuild}")
        try:
            # The loaded object owns the variables; the signature needs it kept alive.
            self._saved = tf.saved_model.load(str(path))
            self._serve = self._saved.signatures[SIGNATURE]
        except Exception as error:  # TensorFlow raises many types for corrupt files
            raise StageError(f"cannot load the exported model in {path}"
                             f" ({first_line(error)}): {rebuild}") from None
        inputs, outputs = self._serve.structured_input_signature[1], self._serve.structured_outputs
        if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
            raise StageError(f"{path} is not this project's export (its {SIGNATURE} signature"
                             f" lacks {INPUT_NAME!r} or {OUTPUT_NAME!r}): {rebuild}")

    def __call__(self, reviews: Sequence[str]) -> np.ndarray:
        """Probability that each review is positive."""
        encoded = [review.encode("utf-8", errors="replace") for review in reviews]
        outputs = self._serve(**{INPUT_NAME: tf.constant(encoded, dtype=tf.string)})
        return outputs[OUTPUT_NAME].numpy().astype(np.float64)


def plan_batches(lengths: Sequence[int], batch_size: int,
                 max_characters: int = MAX_BATCH_CHARACTERS) -> list[list[int]]:
    """Positions of the reviews grouped into batches of similar length, shortest first.

    A batch holds at most `batch_size` reviews, and is closed before its longest review times
    its size would exceed `max_characters`; a review longer than that gets a batch of its own.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for position in sorted(range(len(lengths)), key=lambda p: lengths[p]):
        padded = (len(current) + 1) * lengths[position]
        if current and (len(current) == batch_size or padded > max_characters):
            batches.append(current)
            current = []
        current.append(position)
    if current:
        batches.append(current)
    return batches


def skip_reason(review: str) -> str | None:
    """Why a review cannot be classified, or None when it can."""
    if not review:
        return "empty review"
    if not review.strip():
        return "only whitespace"
    return None


def classify(model: ExportedModel, reviews: Sequence[str], threshold: float,
             batch_size: int = DEFAULT_BATCH_SIZE) -> pd.DataFrame:
    """One row per review, in input order: `review`, `label`, `probability`, `reason`.

    Skipped reviews have the label "skipped", no probability and a reason.
    """
    reasons = [skip_reason(review) for review in reviews]
    scored = [position for position, reason in enumerate(reasons) if reason is None]

    # Score similar lengths together, then put every probability back at its review.
    probabilities = np.full(len(reviews), np.nan)
    for batch in plan_batches([len(reviews[p]) for p in scored], batch_size):
        positions = [scored[b] for b in batch]
        probabilities[positions] = model([reviews[p] for p in positions])

    labels = [SKIPPED if reason else "positive" if probability >= threshold else "negative"
              for reason, probability in zip(reasons, probabilities, strict=True)]
    return pd.DataFrame({"review": pd.Series(reviews, dtype=str), "label": labels,
                         "probability": probabilities, "reason": reasons})


def excerpt(review: str, width: int = EXCERPT_WIDTH) -> str:
    """The start of a review on one line: HTML tags, line breaks and control characters gone."""
    text = "".join(char if char.isprintable() else " " for char in HTML_TAG.sub(" ", review))
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def text_row(row: pd.Series) -> str:
    """One review as a line of text: excerpt, label, probability (or why it was skipped)."""
    shown = excerpt(row["review"]) or "(empty)"
    if row["label"] == SKIPPED:
        return f"{shown:<{EXCERPT_WIDTH}}  {SKIPPED:<8}  -       ({row['reason']})"
    return f"{shown:<{EXCERPT_WIDTH}}  {row['label']:<8}  {row['probability']:.4f}"


def json_row(index: int, row: pd.Series) -> str:
    """One review as a JSON object on one line."""
    probability, reason = row["probability"], row["reason"]
    return json.dumps({
        "index": index, "excerpt": excerpt(row["review"]), "label": row["label"],
        "probability": None if math.isnan(probability) else float(probability),
        "reason": None if pd.isna(reason) else reason}, ensure_ascii=False)


def write_table(results: pd.DataFrame, path: Path) -> None:
    """Write the full results as CSV or Parquet, by the suffix of `path`."""
    try:
        if table_format(path) == "CSV":
            results.to_csv(path, index_label="index")
        else:
            results.rename_axis("index").reset_index().to_parquet(path, index=False)
    except OSError as error:
        raise StageError(f"cannot write {path}: {error.strerror or error}") from None


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # A terminal that cannot show a review's emoji gets a placeholder, not a crash.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")

    # Check everything the user gave before the slow part.
    if args.output is not None:
        table_format(args.output)
        if not args.output.parent.is_dir():
            raise StageError(f"cannot write {args.output}: {args.output.parent} is not a"
                             " folder")
    threshold = args.threshold if args.threshold is not None else default_threshold()
    reviews = gather_reviews(args)

    # Load the export and score every review that has text.
    started = time.perf_counter()
    model = ExportedModel(args.model)
    log.info("loaded %s in %.1f s", args.model, time.perf_counter() - started)
    started = time.perf_counter()
    results = classify(model, reviews, threshold, args.batch_size)
    skipped = int((results["label"] == SKIPPED).sum())
    log.info("classified %d reviews in %.1f s (threshold %s), skipped %d",
             len(results) - skipped, time.perf_counter() - started, threshold, skipped)

    # One row per review on stdout, the full table in --output.
    for index, row in results.iterrows():
        print(json_row(index, row) if args.json else text_row(row))
    if skipped == len(results):
        raise StageError(f"none of the {len(results)} reviews has any text to classify")
    if args.output is not None:
        write_table(results, args.output)
        log.info("wrote %d results to %s", len(results), args.output)


if __name__ == "__main__":
    run_stage(main)
