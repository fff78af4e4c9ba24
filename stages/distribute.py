"""Where the train stage fits the model: one device, every local device, or several machines.

`train.strategy` picks a `tf.distribute` strategy:
- `default`: TensorFlow's default placement, one device.
- `mirrored`: `MirroredStrategy`, a replica on every local GPU, or on every logical CPU
  device when there is no GPU; gradients are summed across replicas after each batch.
- `multi_worker`: `MultiWorkerMirroredStrategy`, a replica on every device of every machine
  listed in the `TF_CONFIG` environment variable, one process per machine. Each worker reads
  the same records and takes its own share of every batch.

`train.batch_size` stays the global batch: Keras splits each batch evenly across replicas.
In a multi-worker run only the chief (worker 0) writes the model and the metrics; the other
workers write theirs to a temporary directory that is deleted afterwards.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

from stages import paths
from stages.runner import StageError

log = logging.getLogger("stages.distribute")


@dataclass(frozen=True)
class WorkerOutputs:
    """Where one training process writes its model, its DVCLive files and its backup."""

    model: Path
    live: Path
    backup: Path


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy that `train.strategy` names."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [device.name for device in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if "TF_CONFIG" not in os.environ:
        raise StageError("train.strategy = 'multi_worker' needs the TF_CONFIG environment"
                         " variable naming the cluster and this worker's task (see the README's"
                         " Distributed training); use 'mirrored' on one machine")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    _reduce_per_tensor_in_keras()
    return strategy


def task(strategy: tf.distribute.Strategy) -> tuple[str, int]:
    """This process's task in the cluster: ("chief" or "worker", index)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "chief", 0
    return resolver.task_type, resolver.task_id


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the stage's outputs: the only one, or worker 0."""
    task_type, index = task(strategy)
    return task_type == "chief" or (task_type == "worker" and index == 0
                                    and not _cluster_has_chief())


def _cluster_has_chief() -> bool:
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return bool(cluster.get("chief"))


def worker_outputs(strategy: tf.distribute.Strategy, scratch: Path) -> WorkerOutputs:
    """The chief writes the stage's outputs; any other worker writes under `scratch`.

    Every worker keeps its own backup in the project, so that all of them resume together.
    """
    if is_chief(strategy):
        return WorkerOutputs(model=paths.MODEL, live=paths.TRAIN_LIVE, backup=paths.TRAIN_BACKUP)
    task_type, index = task(strategy)
    return WorkerOutputs(model=scratch / paths.MODEL.name, live=scratch / "live",
                         backup=paths.TRAIN_BACKUP.with_name(
                             f"{paths.TRAIN_BACKUP.name}.{task_type}-{index}"))


def shard_by_batch(batches: tf.data.Dataset) -> tf.data.Dataset:
    """Let each worker take its share of every batch rather than whole files.

    Each split is one file, fewer than the workers, so sharding by file would not work.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return batches.with_options(options)


def prepare_for_multi_worker(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Make `model.fit` work under MultiWorkerMirroredStrategy.

    Keras 3 reduces the first batch as one nested structure before fitting, which
    MultiWorkerMirroredStrategy rejects (keras-team/keras#20585); this reduces its tensors one
    by one instead, then builds the model's metrics and optimizer as Keras would.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return

    def build_from_first_batch(iterator=None, data_batch=None) -> None:  # noqa: ANN001
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: _reduce_mean(strategy, value), next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build_from_first_batch


def _reduce_mean(strategy: tf.distribute.Strategy, value: object) -> object:
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.reduce("MEAN", value, axis=None)
    return value


def _reduce_per_tensor_in_keras() -> None:
    """Average each epoch's per-replica figures as scalars across workers.

    Keras 3's multi-worker branch of `reduce_per_replica` averages along axis 0, which fails
    on scalar metrics (same Keras issue); every other case keeps Keras's own reduction.
    """
    keras_reduce = keras_tf_trainer.reduce_per_replica
    if getattr(keras_reduce, "per_tensor", False):
        return

    def reduce_per_replica(values, strategy, reduction):  # noqa: ANN001, ANN202
        if reduction in ("auto", "mean") and isinstance(
                strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tf.nest.map_structure(lambda value: _reduce_mean(strategy, value), values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.per_tensor = True
    keras_tf_trainer.reduce_per_replica = reduce_per_replica
