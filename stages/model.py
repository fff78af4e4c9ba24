"""The sentiment network: token ids in, probability of a positive review out."""

from __future__ import annotations

import keras
from keras import layers

from stages.params import TrainParams


def build_model(vocabulary_size: int, params: TrainParams) -> keras.Model:
    """Embedding, stacked bidirectional LSTMs, a dense layer and a sigmoid output.

    Every LSTM but the last returns its whole sequence for the next one to read; the last
    returns its final state. Inputs may have any length: batches can be padded per batch.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocabulary_size, params.embedding_dim, mask_zero=params.mask_padding,
                         name="embedding")(token_ids)
    x = layers.Dropout(params.dropout)(x) if params.dropout else x

    for depth, units in enumerate(params.lstm_units, start=1):
        last = depth == len(params.lstm_units)
        x = layers.Bidirectional(layers.LSTM(units, return_sequences=not last),
                                 name=f"bilstm_{depth}")(x)
        x = layers.Dropout(params.dropout)(x) if params.dropout else x

    x = layers.Dense(params.dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(params.dropout)(x) if params.dropout else x
    positive = layers.Dense(1, activation="sigmoid", name="positive")(x)
    return keras.Model(token_ids, positive, name="bilstm_sentiment")


def compile_model(model: keras.Model, params: TrainParams) -> keras.Model:
    """Adam on binary cross-entropy, tracking accuracy; gradients clipped if asked."""
    optimizer = keras.optimizers.Adam(learning_rate=params.learning_rate,
                                      clipnorm=params.clipnorm)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model
