"""Export stage: the trained network and its tokenization as one SavedModel over raw text.

Writes `data/export/`, a TensorFlow SavedModel whose serving signature takes a batch of raw
review strings (`reviews`: tf.string, shape [None]) and returns `probability` (float32, shape
[None]), the probability that each review is positive. Inside, every review goes through the
tokenize stage's WordPiece tokenizer over `data/vocab.txt` with the same normalisation, is cut
to `tokenize.max_length` tokens on the `tokenize.truncating` side (when a length is set), and
the batch is padded with id 0 on the `tokenize.padding` side to its longest review before the
network of `data/model.keras` scores it.

Loading needs TensorFlow and tensorflow-text, whose import registers the tokenizer's ops, but
none of this project's code:

    import tensorflow as tf
    import tensorflow_text  # noqa: F401
    model = tf.saved_model.load("data/export")
    model.serve(tf.constant(["A wonderful film.", "Dull and far too long."]))["probability"]
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable

import keras
import tensorflow as tf

from stages import paths
from stages.params import PAD_ID, Side, TokenizeParams, load_params
from stages.runner import StageError, run_stage
from stages.tokenize import make_tokenizer
from stages.vocab import read_vocabulary

log = logging.getLogger("stages.export")

# The serving signature: `stages.predict` and the README call it by these names.
ENDPOINT = "serve"
INPUT_NAME = "reviews"
OUTPUT_NAME = "probability"


def truncate(token_ids: tf.RaggedTensor, max_length: int | None,
             truncating: Side) -> tf.RaggedTensor:
    """Keep at most `max_length` tokens of each review, cutting on the `truncating` side."""
    if max_length is None:
        return token_ids
    return token_ids[:, -max_length:] if truncating == "pre" else token_ids[:, :max_length]


def pad_to_longest(token_ids: tf.RaggedTensor, padding: Side) -> tf.Tensor:
    """Pad every review with PAD_ID on the `padding` side to the longest review of the batch.

    A batch in which no review has a single token still gets one column of padding, so the
    network always sees at least one step.
    """
    # Reversing each review before and after padding at the end moves the padding to the front.
    if padding == "pre":
        padded = tf.reverse(tf.reverse(token_ids, axis=[1]).to_tensor(PAD_ID), axis=[1])
    else:
        padded = token_ids.to_tensor(PAD_ID)

    missing = tf.maximum(1 - tf.shape(padded)[1], 0)
    sides = [missing, 0] if padding == "pre" else [0, missing]
    return tf.pad(padded, [[0, 0], sides], constant_values=PAD_ID)


def check_vocabulary_fits(network: keras.Model, vocabulary: list[str]) -> None:
    """Stop when the network was trained on a vocabulary of another size."""
    embedding = next(layer for layer in network.layers
                     if isinstance(layer, keras.layers.Embedding))
    if embedding.input_dim != len(vocabulary):
        raise StageError(
            f"{paths.MODEL} was trained on a {embedding.input_dim}-token vocabulary but"
            f" {paths.VOCABULARY} has {len(vocabulary)} tokens: run `dvc repro export`, which"
            " retrains the model first")


def masks_padding(network: keras.Model) -> bool:
    """Whether the network hides padding ids from its LSTMs (`train.mask_padding`)."""
    return any(getattr(layer, "mask_zero", False) for layer in network.layers)


def review_classifier(network: keras.Model, tokenizer: keras.layers.Layer,
                      params: TokenizeParams) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """Raw review strings to `{OUTPUT_NAME: probability of a positive review}`."""
    def classify(reviews: tf.Tensor) -> dict[str, tf.Tensor]:
        token_ids = truncate(tokenizer(reviews), params.max_length, params.truncating)
        positive = network(pad_to_longest(token_ids, params.padding), training=False)
        return {OUTPUT_NAME: tf.reshape(tf.cast(positive, tf.float32), [-1])}
    return classify


def main() -> None:
    params = load_params()
    if not paths.MODEL.exists():
        raise StageError(f"{paths.MODEL} does not exist: run `dvc repro train` first")
    vocabulary = read_vocabulary(paths.VOCABULARY)
    network = keras.models.load_model(paths.MODEL, compile=False)
    check_vocabulary_fits(network, vocabulary)
    if not masks_padding(network):
        log.warning("the network does not mask padding (train.mask_padding: false), so a"
                    " review's probability depends on how much padding its batch adds; set"
                    " train.mask_padding: true to make it independent of its neighbours")

    # Tokenize as the tokenize stage does, then cut, pad and score inside one graph.
    tokenizer = make_tokenizer(vocabulary, params.vocab.lowercase)
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint(
        ENDPOINT, review_classifier(network, tokenizer, params.tokenize),
        input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_NAME)])

    # Write it afresh; its first endpoint is also the `serving_default` signature.
    shutil.rmtree(paths.EXPORT, ignore_errors=True)
    archive.write_out(str(paths.EXPORT), verbose=False)
    size = sum(file.stat().st_size for file in paths.EXPORT.rglob("*") if file.is_file())
    tokenize = params.tokenize
    kept = ("whole reviews" if tokenize.max_length is None
            else f"{tokenize.max_length} tokens cut {tokenize.truncating}")
    log.info("wrote %s (%.1f MB): %s(%s: string[None]) -> %s: float32[None]; %s, padded %s",
             paths.EXPORT, size / 1e6, ENDPOINT, INPUT_NAME, OUTPUT_NAME, kept,
             tokenize.padding)


if __name__ == "__main__":
    run_stage(main)
