"""Resuming an interrupted train stage from its last finished epoch.

DVC deletes the train stage's outputs before it runs the stage again, so progress is kept in a
backup directory that no stage declares and DVC leaves alone (`data/train-backup/`). After
every epoch `TrainingProgress` writes a snapshot of everything a resumed run needs:
- the weights with the optimizer's state (learning rate and step count included),
- the DVCLive files written so far, and the best weights early stopping keeps,
then records it in `progress.json` with every finished epoch's figures and the state of early
stopping and learning-rate reduction. That file is replaced in one step, and only then are
older snapshots deleted, so a kill at any moment leaves one complete, consistent snapshot.

A backup is resumed only by a run with the same `train` params and the same tokenized data;
it stores a fingerprint of both and any other run discards it. The train stage deletes its
backup once the model is saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from stages.params import TrainParams

log = logging.getLogger("stages.resume")

WEIGHTS = "model.weights.h5"
BEST_WEIGHTS = "best.npz"
LIVE = "live"


def fingerprint(params: TrainParams, token_stats: Mapping[str, Any]) -> str:
    """What a backup must match to be resumed: the train params and the tokenized data.

    The tokenize stage's stats include every split's checksum, so new records change it.
    """
    identity = {"train": dataclasses.asdict(params), "tokenized": token_stats}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class TrainingBackup:
    """The backup directory of one training run: its snapshots and `progress.json`."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.state: dict[str, Any] = {}
        self.epochs: list[dict[str, float]] = []

    @property
    def _progress_file(self) -> Path:
        return self.directory / "progress.json"

    def _snapshot(self, name: str) -> Path:
        return self.directory / name

    def restore(self, model: keras.Model, live_dir: Path) -> int:
        """Load a matching backup into `model` and `live_dir`; return its finished epochs.

        Returns 0, having discarded whatever was there, when there is nothing to resume.
        """
        state = self._read_state()
        if state is None:
            self.discard()
            return 0
        snapshot = self._snapshot(state["snapshot"])
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(snapshot / WEIGHTS)
        shutil.rmtree(live_dir, ignore_errors=True)
        shutil.copytree(snapshot / LIVE, live_dir)

        self.state, self.epochs = state, state["epochs"]
        log.info("resuming from the backup in %s after epoch %d", self.directory,
                 len(self.epochs))
        return len(self.epochs)

    def _read_state(self) -> dict[str, Any] | None:
        """The recorded progress when it can be resumed, with the reason logged when not."""
        if not self._progress_file.exists():
            return None
        with self._progress_file.open(encoding="utf-8") as stream:
            state = json.load(stream)
        if state.get("fingerprint") != self.fingerprint:
            log.info("discarding the backup in %s: it is of other train params or data",
                     self.directory)
            return None
        if not (self._snapshot(state["snapshot"]) / WEIGHTS).exists():
            log.warning("discarding the backup in %s: its snapshot is missing", self.directory)
            return None
        return state

    def callback(self, live_dir: Path,
                 schedule: list[keras.callbacks.Callback]) -> TrainingProgress:
        """The callback that fills this backup; it goes after DVCLive's and the schedule's."""
        early_stopping = next((c for c in schedule
                               if isinstance(c, keras.callbacks.EarlyStopping)), None)
        reduce_lr = next((c for c in schedule
                          if isinstance(c, keras.callbacks.ReduceLROnPlateau)), None)
        return TrainingProgress(self, live_dir, early_stopping, reduce_lr)

    def save(self, model: keras.Model, live_dir: Path, state: dict[str, Any],
             best_weights: list[np.ndarray] | None) -> None:
        """Write this epoch's snapshot, record it, then delete the older ones."""
        name = f"epoch-{len(state['epochs'])}"
        snapshot = self._snapshot(name)
        shutil.rmtree(snapshot, ignore_errors=True)
        snapshot.mkdir(parents=True)
        model.save_weights(snapshot / WEIGHTS)
        shutil.copytree(live_dir, snapshot / LIVE)
        if best_weights is not None:
            np.savez(snapshot / BEST_WEIGHTS, *best_weights)

        partial = self._progress_file.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as stream:
            json.dump({**state, "snapshot": name}, stream, indent=1)
        os.replace(partial, self._progress_file)

        for older in self.directory.glob("epoch-*"):
            if older.name != name:
                shutil.rmtree(older, ignore_errors=True)

    @property
    def stopped_early(self) -> bool:
        """Whether the restored run had already been stopped by early stopping."""
        return self.state.get("early_stopping", {}).get("stopped_epoch", 0) > 0

    def best_weights(self) -> list[np.ndarray] | None:
        """The best weights so far, as saved with the restored snapshot."""
        if not self.state:
            return None
        path = self._snapshot(self.state["snapshot"]) / BEST_WEIGHTS
        if not path.exists():
            return None
        with np.load(path) as saved:
            return [saved[f"arr_{index}"] for index in range(len(saved.files))]

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class TrainingProgress(keras.callbacks.Callback):
    """Snapshots every finished epoch and restores the schedule's state on resume.

    Place it after the DVCLive, early-stopping and learning-rate callbacks, so that it saves
    their state once they have updated it for the epoch, and restores it after they reset.
    """

    def __init__(self, backup: TrainingBackup, live_dir: Path,
                 early_stopping: keras.callbacks.EarlyStopping | None,
                 reduce_lr: keras.callbacks.ReduceLROnPlateau | None) -> None:
        super().__init__()
        self.backup = backup
        self.live_dir = live_dir
        self.early_stopping = early_stopping
        self.reduce_lr = reduce_lr
        self._started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        state = self.backup.state
        if self.early_stopping is not None and "early_stopping" in state:
            vars(self.early_stopping).update(state["early_stopping"])
            self.early_stopping.best_weights = self.backup.best_weights()
        if self.reduce_lr is not None and "reduce_lr" in state:
            vars(self.reduce_lr).update(state["reduce_lr"])

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = time.perf_counter() - self._started
        log.info("epoch %d took %.1f s", epoch + 1, seconds)
        figures = {name: float(value) for name, value in (logs or {}).items()}
        self.backup.epochs.append({**figures, "seconds": round(seconds, 3)})

        state: dict[str, Any] = {"fingerprint": self.backup.fingerprint,
                                 "epochs": self.backup.epochs}
        best_weights = None
        if self.early_stopping is not None:
            stopping = self.early_stopping
            state["early_stopping"] = {"wait": stopping.wait, "best": stopping.best,
                                       "best_epoch": stopping.best_epoch,
                                       "stopped_epoch": stopping.stopped_epoch}
            best_weights = stopping.best_weights
        if self.reduce_lr is not None:
            state["reduce_lr"] = {"wait": self.reduce_lr.wait, "best": self.reduce_lr.best,
                                  "cooldown_counter": self.reduce_lr.cooldown_counter}
        self.backup.save(self.model, self.live_dir, state, best_weights)
