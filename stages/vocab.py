"""Vocab stage: learn a WordPiece vocabulary from the train reviews.

Only the train split is read, so nothing about the test reviews leaks into the features. The
vocabulary is written one token per line to `data/vocab.txt`, the format keras-hub's
`WordPieceTokenizer` loads: `[PAD]` (id 0), `[UNK]` (id 1), then the learned tokens, word
continuations marked with `##`. Learning uses the Rust WordPiece trainer of Hugging Face
`tokenizers`, with the same BERT-style normalisation and splitting that the tokenize stage
applies through keras-hub.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from stages import paths
from stages.params import PAD_TOKEN, RESERVED_TOKENS, UNK_TOKEN, VocabParams, load_params
from stages.runner import StageError, run_stage

log = logging.getLogger("stages.vocab")


def _wordpiece_trainer(lowercase: bool) -> Tokenizer:
    """An untrained WordPiece tokenizer with BERT's normalisation and word splitting."""
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def _train(reviews: list[str], size: int, lowercase: bool, fixed_tokens: list[str]) -> set[str]:
    tokenizer = _wordpiece_trainer(lowercase)
    trainer = trainers.WordPieceTrainer(
        vocab_size=size, special_tokens=fixed_tokens, continuing_subword_prefix="##",
        show_progress=False)
    tokenizer.train_from_iterator(reviews, trainer=trainer)
    return set(tokenizer.get_vocab())


def learn_vocabulary(reviews: Iterable[str], size: int, lowercase: bool) -> list[str]:
    """Learn `size` WordPiece tokens (reserved tokens included) from review texts.

    The trainer numbers the `##` continuations of single characters in hash-map order, which
    changes from process to process, and breaks ties between equally frequent merges by those
    numbers (huggingface/tokenizers#1794), so the same reviews could give another
    vocabulary on every run. A first pass without merges finds those continuations; the real
    pass is given them, sorted, as fixed tokens, which numbers them the same way every time.
    The order of the tokens written is canonical too: reserved tokens first, then the rest
    sorted.
    """
    reviews = list(reviews)
    characters = _train(reviews, 1, lowercase, list(RESERVED_TOKENS))
    continuations = sorted(token for token in characters if token.startswith("##"))
    learned = _train(reviews, size, lowercase, [*RESERVED_TOKENS, *continuations])
    return [*RESERVED_TOKENS, *sorted(learned - set(RESERVED_TOKENS))]


def read_vocabulary(path: Path) -> list[str]:
    """Read a one-token-per-line vocabulary, checking the reserved tokens are usable."""
    try:
        with path.open(encoding="utf-8") as stream:
            tokens = [line.rstrip("\n") for line in stream if line.strip()]
    except OSError as error:
        raise StageError(f"cannot read the vocabulary {path}: {error.strerror}") from None
    if not tokens or tokens[0] != PAD_TOKEN or UNK_TOKEN not in tokens:
        raise StageError(f"{path} is not a usable WordPiece vocabulary: its first line must be"
                         f" {PAD_TOKEN} (padding id 0) and it must contain {UNK_TOKEN}")
    if len(set(tokens)) != len(tokens):
        raise StageError(f"{path} lists some tokens twice; every line must be unique")
    return tokens


def write_vocabulary(tokens: list[str], path: Path) -> None:
    """Write one token per line."""
    with path.open("w", encoding="utf-8") as stream:
        stream.writelines(f"{token}\n" for token in tokens)


def main() -> None:
    params: VocabParams = load_params().vocab

    # A given vocabulary is checked and copied as is.
    if params.file is not None:
        tokens = read_vocabulary(Path(params.file))
        log.info("using the %d-token vocabulary %s", len(tokens), params.file)
        write_vocabulary(tokens, paths.VOCABULARY)
        return

    # Otherwise learn one from the train reviews alone.
    reviews = pd.read_parquet(paths.raw_split("train"), columns=["text"])["text"]
    log.info("learning a %d-token WordPiece vocabulary from %d train reviews",
             params.size, len(reviews))
    tokens = learn_vocabulary(reviews.tolist(), params.size, params.lowercase)
    if len(tokens) > params.size:
        raise StageError(
            f"vocab.size = {params.size} is too small: the {len(RESERVED_TOKENS)} reserved"
            f" tokens and the characters of the train reviews alone need {len(tokens)};"
            " raise vocab.size")
    if len(tokens) < params.size:
        log.warning("the train reviews yield only %d distinct tokens, fewer than vocab.size"
                    " = %d", len(tokens), params.size)
    write_vocabulary(tokens, paths.VOCABULARY)
    log.info("wrote %s", paths.VOCABULARY)


if __name__ == "__main__":
    run_stage(main)
