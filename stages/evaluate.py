"""Evaluate stage: score the trained model on the test split, which nothing else reads.

Writes test metrics (accuracy, loss, precision, recall, F1, ROC AUC) to
`data/evaluate/metrics.json` for `dvc metrics show`, ROC, precision-recall and confusion-matrix
plots for `dvc plots show`, and every test review's prediction to
`data/evaluate/predictions.parquet` for error analysis.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import pandas as pd
from dvclive import Live
from sklearn import metrics

from stages import paths
from stages.batches import review_batches
from stages.params import Params, load_params
from stages.records import read_split, read_token_stats
from stages.runner import StageError, run_stage

log = logging.getLogger("stages.evaluate")


def predict_test_split(model: keras.Model, params: Params) -> pd.DataFrame:
    """Probability of a positive review for every test review, in raw test-table order."""
    token_stats = read_token_stats()
    batches = review_batches(
        read_split("test", token_stats, with_index=True),
        batching=params.train.batching, batch_size=params.train.batch_size,
        padding=token_stats["padding"])

    indices, labels, probabilities = [], [], []
    for token_ids, label, review_index in batches:
        probabilities.append(model.predict_on_batch(token_ids)[:, 0])
        labels.append(label.numpy())
        indices.append(review_index.numpy())

    predictions = pd.DataFrame({
        "review_index": np.concatenate(indices),
        "label": np.concatenate(labels).astype("int64"),
        "probability": np.concatenate(probabilities).astype("float64"),
    })
    return predictions.sort_values("review_index", ignore_index=True)


def score(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, float]:
    """Test metrics of probabilities against true 0/1 labels."""
    predicted = (probabilities >= threshold).astype(int)
    return {
        "accuracy": metrics.accuracy_score(labels, predicted),
        "loss": metrics.log_loss(labels, probabilities, labels=[0, 1]),
        "precision": metrics.precision_score(labels, predicted, zero_division=0),
        "recall": metrics.recall_score(labels, predicted, zero_division=0),
        "f1": metrics.f1_score(labels, predicted, zero_division=0),
        "roc_auc": (metrics.roc_auc_score(labels, probabilities)
                    if len(np.unique(labels)) == 2 else float("nan")),
    }


def main() -> None:
    params = load_params()
    threshold = params.evaluate.threshold
    if not paths.MODEL.exists():
        raise StageError(f"{paths.MODEL} does not exist: run `dvc repro train` first")
    model = keras.models.load_model(paths.MODEL)

    # Predict every test review and call it positive at or above the threshold.
    predictions = predict_test_split(model, params)
    predictions["predicted"] = (predictions["probability"] >= threshold).astype("int64")
    labels, probabilities = predictions["label"].to_numpy(), predictions["probability"].to_numpy()

    # Metrics and plots through DVCLive; the table for error analysis beside them.
    with Live(dir=str(paths.EVALUATE_LIVE), dvcyaml=False, save_dvc_exp=False) as live:
        for name, value in score(labels, probabilities, threshold).items():
            live.log_metric(name, round(float(value), 6), plot=False)
            log.info("test %s: %.4f", name, value)
        live.log_sklearn_plot("roc", labels, probabilities)
        live.log_sklearn_plot("precision_recall", labels, probabilities)
        live.log_sklearn_plot("confusion_matrix", labels, predictions["predicted"].to_numpy())
    predictions.to_parquet(paths.PREDICTIONS, index=False)
    log.info("wrote %d test predictions to %s", len(predictions), paths.PREDICTIONS)


if __name__ == "__main__":
    run_stage(main)
