"""TFRecords of tokenized reviews read back exactly as written."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from stages.records import read_records, write_records

ROOT = Path(__file__).resolve().parents[1]


def test_records_round_trip_exactly(tmp_path) -> None:
    rng = np.random.default_rng(0)
    token_ids = rng.integers(0, 7635, size=(50, 40)).astype(np.int32)
    labels = rng.integers(0, 2, size=50)
    indices = rng.permutation(1000)[:50]
    path = tmp_path / "split.tfrecord"
    write_records(path, token_ids, labels, indices)

    read = list(read_records(path, with_index=True).as_numpy_iterator())
    assert len(read) == 50
    np.testing.assert_array_equal(np.stack([ids for ids, _, _ in read]), token_ids)
    np.testing.assert_array_equal([label for _, label, _ in read], labels)
    np.testing.assert_array_equal([index for _, _, index in read], indices)
    ids, label = next(iter(read_records(path)))
    assert ids.dtype.name == "int32" and label.dtype.name == "float32"


def test_records_are_byte_identical_across_processes(tmp_path) -> None:
    # Python salts string hashes per process; the records must not depend on that salt.
    script = ("import sys; import numpy as np; from stages.records import serialize_review;"
              " sys.stdout.write(serialize_review(np.array([5, 6, 7]), 1, 3).hex())")
    digests = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                                capture_output=True, text=True, check=True)
        digests.add(result.stdout)
    assert len(digests) == 1
