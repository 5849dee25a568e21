"""Sentence embeddings of ticket text: what a report means, whatever words it uses.

The model is the setting `CLUSTERING_EMBEDDING_MODEL`: a directory holding an ONNX sentence encoder
(`model.onnx` or `onnx/model.onnx`) and its `tokenizer.json` (the files sentence-transformers
publishes), or a model name such as `sentence-transformers/all-MiniLM-L6-v2` that a deployment with
internet access fetches once into `CLUSTERING_EMBEDDING_CACHE`. Encoding is onnxruntime and the
`tokenizers` package (no torch): tokenize (truncated at the model's limit), run the encoder, average
the token vectors over the attention mask and L2-normalise, as sentence-transformers does.

The encoder loads lazily, once per process, and only where it is used (the Celery worker, the
backfill, the Known-bugs panel). When no model is configured, or it cannot be loaded, `encoder()`
returns None and the engine ranks by words alone; `encoder_status()` says why, naming the setting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SETTING = "CLUSTERING_EMBEDDING_MODEL"
MAX_CHARACTERS = 8_000  # read at most this much text: more never survives the token limit
_HAS_WORD = re.compile(r"\w", re.UNICODE)
_FETCH_PATTERNS = ["*.json", "vocab.txt", "model.onnx", "onnx/model.onnx"]


class EmbeddingUnavailable(Exception):
    """The configured model cannot be used; the message names the setting and what to fix."""


@dataclass(frozen=True)
class ModelFiles:
    directory: Path
    onnx: Path
    tokenizer: Path


def model_files(directory: Path) -> ModelFiles:
    """The encoder and tokenizer files of a model directory, or EmbeddingUnavailable saying what is missing."""
    if not directory.is_dir():
        raise EmbeddingUnavailable(f"{SETTING}={directory} is not a directory holding a model.")
    onnx = next((p for p in (directory / "model.onnx", directory / "onnx" / "model.onnx") if p.is_file()), None)
    if onnx is None:
        raise EmbeddingUnavailable(f"{SETTING}={directory} has no model.onnx (nor onnx/model.onnx).")
    tokenizer = directory / "tokenizer.json"
    if not tokenizer.is_file():
        raise EmbeddingUnavailable(f"{SETTING}={directory} has no tokenizer.json.")
    return ModelFiles(directory, onnx, tokenizer)


def model_fetch(name: str, cache_dir: Path) -> Path:
    """Download model `name` from the Hugging Face hub into `cache_dir` once; later calls find it there."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # tokenizers depends on it, so this is a broken install
        raise EmbeddingUnavailable(f"{SETTING}={name} names a model to fetch, but huggingface_hub is missing.") from exc
    target = cache_dir / name.replace("/", "--")
    if (target / "tokenizer.json").is_file() and any(
        p.is_file() for p in (target / "model.onnx", target / "onnx" / "model.onnx")
    ):
        return target
    try:
        snapshot_download(repo_id=name, allow_patterns=_FETCH_PATTERNS, local_dir=str(target))
    except Exception as exc:  # noqa: BLE001 - offline, unknown name, disk full: all mean "not loadable"
        raise EmbeddingUnavailable(
            f"{SETTING}={name} could not be fetched ({type(exc).__name__}: {str(exc)[:200]}); set it to a "
            "directory holding model.onnx and tokenizer.json, or allow this machine to reach the model hub once."
        ) from exc
    return target


def resolve(value: str, *, base_dir: Path, cache_dir: Path) -> ModelFiles:
    """The model files a setting's value stands for: a directory (absolute, or relative to `base_dir`) or a name."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    is_name = re.fullmatch(r"[\w.-]+/[\w.-]+", value) and not value.startswith((".", "~"))
    if path.exists() or not is_name:
        return model_files(path)
    return model_files(model_fetch(value, cache_dir))


class Encoder:
    """An ONNX sentence encoder with its tokenizer. Thread-safe; one per process (see `encoder()`)."""

    def __init__(self, files: ModelFiles, *, max_tokens: int | None = None, threads: int = 0):
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(files.tokenizer))
        except Exception as exc:  # noqa: BLE001 - a truncated or foreign file
            raise EmbeddingUnavailable(f"{SETTING}: {files.tokenizer} is not a readable tokenizer ({exc}).") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                str(files.onnx), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own classes for corrupt files
            raise EmbeddingUnavailable(
                f"{SETTING}: {files.onnx} is not a loadable ONNX model ({str(exc)[:200]})."
            ) from exc
        self.inputs = {i.name for i in self.session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self.inputs
        if missing:
            raise EmbeddingUnavailable(f"{SETTING}: {files.onnx} lacks the input(s) {', '.join(sorted(missing))}.")
        output = self.session.get_outputs()[0]
        dimension = output.shape[-1] if output.shape else None
        self.max_tokens = min(_model_limit(files.directory), max_tokens or 10**6)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.files = files
        probe = self._run(["probe"])
        self.dimension = int(dimension) if isinstance(dimension, int) else int(probe.shape[1])
        if probe.shape[1] != self.dimension:
            raise EmbeddingUnavailable(f"{SETTING}: {files.onnx} gives vectors of {probe.shape[1]} values.")
        digest = hashlib.sha256()
        with open(files.onnx, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        # Vectors of two models never mix: each stored vector carries this identity.
        self.identity = f"{files.directory.name[:40]}@{digest.hexdigest()[:12]}/{self.dimension}"

    def encode(self, texts: list[str], batch_size: int = 16) -> list[np.ndarray | None]:
        """One L2-normalised float32 vector per text; None for a text without a single word."""
        out: list[np.ndarray | None] = [None] * len(texts)
        todo = [(n, t[:MAX_CHARACTERS]) for n, t in enumerate(texts) if t and _HAS_WORD.search(t)]
        if not todo:
            return out
        encodings = self.tokenizer.encode_batch([t for _, t in todo])
        # Similar lengths together, so a batch pads little.
        order = sorted(range(len(todo)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors = self._forward([encodings[i] for i in chunk])
            for i, vector in zip(chunk, vectors, strict=True):
                out[todo[i][0]] = vector
        return out

    def encode_one(self, text: str) -> np.ndarray | None:
        return self.encode([text])[0]

    def tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text[:MAX_CHARACTERS]).ids) if text else 0

    def _run(self, texts: list[str]) -> np.ndarray:
        return self._forward(self.tokenizer.encode_batch(texts))

    def _forward(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _model_limit(directory: Path) -> int:
    """Tokens the model reads: sentence-transformers' max_seq_length, else the tokenizer's or position limit."""
    for name, key in (
        ("sentence_bert_config.json", "max_seq_length"),
        ("tokenizer_config.json", "model_max_length"),
        ("config.json", "max_position_embeddings"),
    ):
        try:
            value = json.loads((directory / name).read_text()).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value <= 100_000:
            return value
    return 512


# --- one encoder per process -----------------------------------------------------------------

_lock = threading.Lock()
_state: dict = {}
_loaded: dict[tuple, Encoder] = {}  # by files and options: a reset (tests) never loads the same model twice


def encoder(*, announce: bool = True) -> Encoder | None:
    """The process's encoder, loaded on first use; None when unavailable (logged once, unless `announce` is off:
    the start-up system check says it instead)."""
    if "encoder" in _state:
        return _state["encoder"]
    with _lock:
        if "encoder" not in _state:
            _state["encoder"], _state["reason"] = _load()
            if _state["encoder"] is None and announce:
                configured = bool(_configured_value())
                logger.log(logging.WARNING if configured else logging.INFO, "Clustering: %s", _state["reason"])
    return _state["encoder"]


def encoder_status(*, announce: bool = True) -> tuple[Encoder | None, str]:
    """(encoder, why there is none): the reason is empty when the encoder loaded."""
    found = encoder(announce=announce)
    return found, _state.get("reason", "")


def encoder_reset() -> None:
    """Forget the loaded encoder (after the setting changed, in tests)."""
    with _lock:
        _state.clear()


def _configured_value() -> str:
    from django.conf import settings

    return (getattr(settings, SETTING, "") or "").strip()


def _load() -> tuple[Encoder | None, str]:
    from django.conf import settings

    value = _configured_value()
    if not value:
        return None, f"{SETTING} is not set, so the engine compares tickets by their words only."
    try:
        files = resolve(value, base_dir=Path(settings.BASE_DIR), cache_dir=Path(settings.CLUSTERING_EMBEDDING_CACHE))
        options = {
            "max_tokens": settings.CLUSTERING_EMBEDDING_MAX_TOKENS,
            "threads": settings.CLUSTERING_EMBEDDING_THREADS,
        }
        stat = files.onnx.stat()
        key = (str(files.onnx), stat.st_size, stat.st_mtime_ns, str(files.tokenizer), *options.values())
        if key not in _loaded:
            _loaded[key] = Encoder(files, **options)
        return _loaded[key], ""
    except EmbeddingUnavailable as exc:
        return None, f"{exc} Until then the engine compares tickets by their words only."
