"""Experiments report: one table and one plot comparing DVC experiments.

Reads `dvc exp show --json` (run here, or saved to a file), keeps one row per commit and
experiment, and writes `reports/experiments.csv` and `reports/experiments.png`: test accuracy,
ROC AUC, training time and parameter count beside the params that differ between the rows.

    python -m stages.report                      # runs `dvc exp show --json` itself
    dvc exp show --json > exps.json && python -m stages.report --input exps.json
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("stages.report")

TRAIN_METRICS = "data/train/metrics.json"
TEST_METRICS = "data/evaluate/metrics.json"
# Report column: (metrics file, key path inside it).
FIGURES = {
    "test_accuracy": (TEST_METRICS, ("accuracy",)),
    "roc_auc": (TEST_METRICS, ("roc_auc",)),
    "best_val_accuracy": (TRAIN_METRICS, ("best", "val_accuracy")),
    "epochs_run": (TRAIN_METRICS, ("epochs_run",)),
    "train_seconds": (TRAIN_METRICS, ("train_seconds",)),
    "parameters": (TRAIN_METRICS, ("parameters",)),
}
# Shown even when all rows agree on them: what the layer comparison is about.
ALWAYS_SHOWN = ("train.lstm_units",)


class ReportError(RuntimeError):
    """Input that cannot be turned into a report; the message says why."""


def _flatten(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _lookup(metrics: Mapping[str, Any], file: str, keys: tuple[str, ...]) -> Any:
    value: Any = (metrics.get(file) or {}).get("data") or {}
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _row(entry: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One commit's or experiment's params and figures, flattened."""
    data = entry.get("data") or {}
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
    metrics = data.get("metrics") or {}
    row: dict[str, Any] = {"experiment": name, "rev": str(entry.get("rev", ""))[:7],
                           "created": data.get("timestamp")}
    # Params as params.yaml writes them: lists in brackets, null for None.
    row.update({key: json.dumps(value) if isinstance(value, list) or value is None else value
                for key, value in _flatten(params)})
    row.update({column: _lookup(metrics, file, keys)
                for column, (file, keys) in FIGURES.items()})
    return row


def experiment_rows(exp_show: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of `dvc exp show --json`: each commit, then its experiments; no workspace."""
    rows = []
    for commit in exp_show:
        if commit.get("rev") == "workspace":
            continue
        rows.append(_row(commit, commit.get("name") or str(commit.get("rev", ""))[:7]))
        for experiment in commit.get("experiments") or []:
            for revision in experiment.get("revs") or []:
                rows.append(_row(revision, revision.get("name") or experiment.get("name")))
    return rows


def report_table(exp_show: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The comparison table: the params that differ, then the figures, one row each."""
    table = pd.DataFrame(experiment_rows(exp_show))
    if table.empty:
        raise ReportError("dvc exp show lists no commits or experiments to report on")
    params = [column for column in table.columns
              if "." in column and (table[column].astype(str).nunique(dropna=False) > 1
                                    or column in ALWAYS_SHOWN)]
    return table[["experiment", "rev", "created", *params, *FIGURES]]


def plot_table(table: pd.DataFrame, path: Path) -> None:
    """Test accuracy and training time per experiment, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = table["experiment"].astype(str)
    figure, (accuracy, seconds) = pyplot.subplots(
        1, 2, figsize=(11, 0.6 * len(table) + 1.5), sharey=True)
    accuracy.barh(labels, table["test_accuracy"].astype(float), color="tab:blue")
    accuracy.set_xlabel("test accuracy")
    low, high = table["test_accuracy"].astype(float).agg(["min", "max"])
    if pd.notna(low):
        accuracy.set_xlim(max(0.0, low - 0.05), min(1.0, high + 0.02))
    seconds.barh(labels, table["train_seconds"].astype(float), color="tab:orange")
    seconds.set_xlabel("training time (s)")
    for row, count in enumerate(table["parameters"]):
        if pd.notna(count):
            seconds.annotate(f"{int(count):,} params", (0, row), xytext=(4, 0),
                             textcoords="offset points", va="center", fontsize=8)
    accuracy.invert_yaxis()  # rows top to bottom, as in the table
    figure.suptitle("DVC experiments")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def read_exp_show(source: str | None) -> list[Mapping[str, Any]]:
    """Parsed `dvc exp show --json`: from a file, from stdin (`-`), or by running DVC."""
    if source is None:
        result = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ReportError(f"dvc exp show failed: {result.stderr.strip()}")
        text = result.stdout
    elif source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise ReportError(f"cannot read {source}: {error.strerror}") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportError(f"not the JSON of `dvc exp show --json`: {error}") from None
    if not isinstance(parsed, list):
        raise ReportError("not the JSON of `dvc exp show --json`: expected a list of commits")
    return parsed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stages.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", help="saved `dvc exp show --json` output, or - for stdin;"
                        " by default DVC is run in the current directory")
    parser.add_argument("--output", type=Path, default=Path("reports"),
                        help="directory for experiments.csv and experiments.png"
                        " (default: reports)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    args = parse_args(argv)
    try:
        table = report_table(read_exp_show(args.input))
    except ReportError as error:
        log.error("%s", error)
        return 1

    args.output.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.output / "experiments.csv", index=False)
    plot_table(table, args.output / "experiments.png")
    print(table.drop(columns=["created"]).to_string(index=False))
    log.info("wrote %s and %s", args.output / "experiments.csv",
             args.output / "experiments.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
