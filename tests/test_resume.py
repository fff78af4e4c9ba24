"""Which backups an interrupted train stage resumes from, and which it discards."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from stages.params import TrainParams
from stages.resume import KERAS_METADATA, TrainingBackup, fingerprint

STATS = {"splits": {"train": {"records": {"bytes": 10, "sha256": "ab"}}}}


def saved_backup(directory: Path, epochs: int, keras_epochs: int | None = None) -> Path:
    """A backup of `epochs` finished epochs, as the train stage's callbacks leave it."""
    backup = TrainingBackup(directory, fingerprint(TrainParams(), STATS))
    live = directory.parent / "live"
    (live / "plots").mkdir(parents=True)
    (live / "metrics.json").write_text('{"step": %d}' % (epochs - 1))
    backup.epochs = [{"val_loss": 0.5 - epoch / 100, "seconds": 1.0} for epoch in range(epochs)]
    backup.save({"fingerprint": backup.fingerprint, "epochs": backup.epochs}, live)
    backup.save_best_weights([np.arange(3.0), np.ones((2, 2))])
    (directory / "keras").mkdir()
    metadata = {"epoch": epochs if keras_epochs is None else keras_epochs, "batch": 0}
    (directory / "keras" / KERAS_METADATA).write_text(json.dumps(metadata))
    return live


def test_matching_backup_is_resumed_with_its_live_files(tmp_path: Path) -> None:
    live = saved_backup(tmp_path / "backup", epochs=3)
    (live / "metrics.json").write_text("left by the killed run")

    backup = TrainingBackup(tmp_path / "backup", fingerprint(TrainParams(), STATS))
    assert backup.restore(live) == 3
    assert len(backup.epochs) == 3
    assert json.loads((live / "metrics.json").read_text()) == {"step": 2}
    weights = backup.best_weights()
    assert weights is not None
    np.testing.assert_array_equal(weights[1], np.ones((2, 2)))


@pytest.mark.parametrize("change", [
    {"params": dataclasses.replace(TrainParams(), learning_rate=0.01)},
    {"stats": {"splits": {"train": {"records": {"bytes": 10, "sha256": "cd"}}}}},
])
def test_backup_of_other_params_or_data_is_discarded(tmp_path: Path, change: dict) -> None:
    live = saved_backup(tmp_path / "backup", epochs=3)
    other = fingerprint(change.get("params", TrainParams()), change.get("stats", STATS))
    backup = TrainingBackup(tmp_path / "backup", other)
    assert backup.restore(live) == 0
    assert not (tmp_path / "backup").exists()


def test_backup_killed_between_weights_and_figures_is_discarded(tmp_path: Path) -> None:
    live = saved_backup(tmp_path / "backup", epochs=3, keras_epochs=4)
    backup = TrainingBackup(tmp_path / "backup", fingerprint(TrainParams(), STATS))
    assert backup.restore(live) == 0
    assert not (tmp_path / "backup").exists()
