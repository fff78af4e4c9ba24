"""The export stage: a SavedModel over raw review text that TensorFlow alone loads and calls."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml
from conftest import ROOT, Project

from stages import export
from stages.runner import StageError
from stages.tokenize import pad_and_truncate

# Run in a fresh interpreter outside the project, so neither `stages` nor keras-hub can be
# imported: load the export with TensorFlow alone, then again after importing tensorflow_text,
# and score the reviews of argv[2] all at once and, in reverse order, seven at a time.
LOAD_AND_SCORE = """
import json, sys
import tensorflow as tf

export, reviews_file = sys.argv[1], sys.argv[2]
try:
    tf.saved_model.load(export)
    without_text = None
except Exception as error:
    without_text = f"{type(error).__name__}: {error}"

import tensorflow_text
model = tf.saved_model.load(export)
serve = model.signatures["serving_default"]
with open(reviews_file, encoding="utf-8") as stream:
    reviews = json.load(stream)
whole = serve(reviews=tf.constant(reviews))["probability"]
backwards = reviews[::-1]
in_sevens = []
for start in range(0, len(backwards), 7):
    batch = tf.constant(backwards[start:start + 7])
    in_sevens.extend(model.serve(batch)["probability"].numpy().tolist())
print(json.dumps({
    "without_text": without_text,
    "input": repr(serve.structured_input_signature[1]["reviews"]),
    "output": repr(serve.structured_outputs["probability"]),
    "dtype": whole.dtype.name, "shape": whole.shape.as_list(),
    "whole": whole.numpy().tolist(), "in_sevens": in_sevens[::-1],
    "project_modules": sorted(name for name in sys.modules
                              if name.split(".")[0] in ("stages", "keras_hub", "keras_nlp")),
}))
"""

RNG = np.random.default_rng(11)
SEQUENCES = [RNG.integers(2, 500, size=length) for length in (0, 1, 3, 5, 8, 13, 21)]


def test_export_in_plain_tensorflow_matches_the_evaluate_stage(exported: Project,
                                                               tmp_path: Path) -> None:
    data = exported.path / "data"
    reviews = pd.read_parquet(data / "raw" / "test.parquet")["text"].tolist()
    reviews_file = tmp_path / "reviews.json"
    reviews_file.write_text(json.dumps(reviews), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_SCORE, str(data / "export"), str(reviews_file)],
        cwd=tmp_path, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True,
        text=True, check=False)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])

    # tensorflow_text is needed, for its ops; this project's code is not.
    assert "not registered" in loaded["without_text"]
    assert loaded["project_modules"] == []

    # Raw strings in, one float32 probability per review out.
    assert "shape=(None,)" in loaded["input"] and "tf.string" in loaded["input"]
    assert "shape=(None,)" in loaded["output"] and "tf.float32" in loaded["output"]
    assert loaded["dtype"] == "float32" and loaded["shape"] == [len(reviews)]

    # The same probabilities as the evaluate stage's, whatever the batch around a review.
    predictions = pd.read_parquet(data / "evaluate" / "predictions.parquet")
    expected = predictions.set_index("review_index")["probability"].loc[range(len(reviews))]
    np.testing.assert_allclose(loaded["whole"], expected.to_numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(loaded["in_sevens"], loaded["whole"], rtol=0, atol=1e-5)
    assert 0 < np.std(loaded["whole"])


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("max_length", [None, 1, 5, 30])
def test_truncation_and_padding_match_the_tokenize_stage(padding: str, truncating: str,
                                                         max_length: int | None) -> None:
    token_ids = tf.ragged.constant([list(ids) for ids in SEQUENCES], dtype=tf.int32)
    ours = export.pad_to_longest(export.truncate(token_ids, max_length, truncating), padding)

    # The tokenize stage pads to one length for all; the export to the batch's longest.
    longest = min(max(len(ids) for ids in SEQUENCES), max_length or sys.maxsize)
    theirs = pad_and_truncate(SEQUENCES, longest, padding, truncating)
    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_a_batch_without_tokens_gets_one_column_of_padding() -> None:
    empty = tf.ragged.constant([[], []], dtype=tf.int32, ragged_rank=1)
    for padding in ("pre", "post"):
        np.testing.assert_array_equal(export.pad_to_longest(empty, padding).numpy(), [[0], [0]])


def project_imports(module: str) -> set[str]:
    """`stages` modules that `stages.<module>` imports, directly or through each other."""
    found, todo = {"__init__"}, [module]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        tree = ast.parse((ROOT / "stages" / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "stages":
                todo.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stages."):
                todo.append(node.module.split(".")[1])
    return found


def test_export_stage_declares_what_it_reads() -> None:
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["export"]
    modules = {f"stages/{name}.py" for name in project_imports("export")}
    assert {"stages/export.py", "stages/tokenize.py", "stages/paths.py"} <= modules
    assert modules | {"data/model.keras", "data/vocab.txt"} <= set(stage["deps"])
    assert not any("test" in dep for dep in stage["deps"])
    assert stage["outs"] == ["data/export"]


def test_export_without_a_model_says_to_train(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StageError, match=r"data/model.keras does not exist.*dvc repro train"):
        export.main()
