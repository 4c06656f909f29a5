"""Word-piece ids of a text: the ``tokenizers`` library, with an exact pure-Python path for ASCII.

The ``tokenizers`` call costs about 35 µs for a ten-word prompt and 0.65 ms for 1,024
characters on a 2-core box: more than the whole static embedder's vector work. Most prompts
are printable ASCII, where the BERT uncased pipeline is simple: lower-case, split at
whitespace and at every punctuation character, then greedy longest-match-first WordPiece per
word. :class:`PieceEncoder` runs that itself, with each word's pieces cached, and hands any
other text (non-ASCII, control characters) to the library. It is only used when the
tokenizer's own configuration is exactly that pipeline (``BertNormalizer`` lower-casing,
``BertPreTokenizer``, ``WordPiece``); the tests compare the two on real prompts and on
random ASCII.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["PieceEncoder", "encode_pieces"]

#: Text the exact path takes: printable ASCII plus tab, newline and carriage return.
_NOT_PLAIN = re.compile(r"[^\t\n\r\x20-\x7e]")
#: BertPreTokenizer on lower-cased ASCII: runs of letters and digits, each punctuation mark alone.
_WORDS = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")
_MAX_CACHED_WORDS = 50_000


class PieceEncoder:
    """``encoder(text)`` -> the word-piece ids of ``text``, no special tokens (``tokenizers`` semantics)."""

    __slots__ = ("_added", "_max_piece", "_max_word", "_prefix", "_unk", "_vocab", "_words", "tokenizer")

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._words: dict[str, list[int]] = {}
        self._vocab: dict[str, int] | None = None
        self._prefix, self._unk, self._max_word, self._max_piece = "##", 0, 100, 0
        self._added: tuple[str, ...] = ()
        config = _plain_wordpiece(tokenizer)
        if config is not None:
            vocab, self._prefix, unk, self._max_word, self._added = config
            if unk in vocab:
                self._vocab, self._unk = vocab, vocab[unk]
                self._max_piece = max(map(len, vocab))

    @property
    def exact_ascii(self) -> bool:
        """Whether printable-ASCII text is tokenised here rather than by the library."""
        return self._vocab is not None

    def __call__(self, text: str) -> list[int]:
        if self._vocab is not None and text.isascii() and _NOT_PLAIN.search(text) is None:
            lowered = text.lower()
            # An added token ("[MASK]", "[SEP]") is matched whole by the library, before splitting.
            if "[" in text and any(t in text or t.lower() in lowered for t in self._added):
                return self.library(text)
            words, out = self._words, []
            for word in _WORDS.findall(lowered):
                pieces = words.get(word)
                if pieces is None:
                    pieces = self._pieces(word)
                    if len(words) >= _MAX_CACHED_WORDS:
                        words.clear()
                    words[word] = pieces
                out += pieces
            return out
        return self.library(text)

    def library(self, text: str) -> list[int]:
        """The ``tokenizers`` library's ids (the reference the exact path is tested against)."""
        return encode_pieces(self.tokenizer, text)

    def _pieces(self, word: str) -> list[int]:
        """Greedy longest-match-first WordPiece; the whole word is [UNK] if any part is not in the vocab."""
        vocab = self._vocab
        assert vocab is not None
        if len(word) > self._max_word:
            return [self._unk]
        pieces, start, n = [], 0, len(word)
        while start < n:
            end = min(n, start + self._max_piece)  # no vocab entry is longer
            while end > start:
                piece = word[start:end] if start == 0 else self._prefix + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    pieces.append(found)
                    break
                end -= 1
            else:
                return [self._unk]
            start = end
        return pieces


def encode_pieces(tokenizer: Any, text: str) -> list[int]:
    """Word-piece ids of ``text``, no special tokens, from the ``tokenizers`` library itself."""
    try:
        return list(tokenizer.encode(text, add_special_tokens=False).ids)
    except TypeError:  # lone surrogates (e.g. a JSON "\ud800" escape) cannot cross into Rust
        clean = text.encode("utf-8", "replace").decode("utf-8")
        return list(tokenizer.encode(clean, add_special_tokens=False).ids)


def _plain_wordpiece(tokenizer: Any) -> tuple[dict[str, int], str, str, int, tuple[str, ...]] | None:
    """(vocab, continuation prefix, unk token, longest word, added tokens) if the tokenizer is the
    BERT uncased pipeline the exact path implements, else None."""
    try:
        spec = json.loads(tokenizer.to_str())
    except Exception:  # a tokenizer-like object without a serialisable configuration
        return None
    normalizer, pre, model = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}, spec.get("model") or {}
    if not (normalizer.get("type") == "BertNormalizer" and normalizer.get("lowercase") is True
            and normalizer.get("clean_text") is True and pre.get("type") == "BertPreTokenizer"
            and model.get("type") == "WordPiece" and isinstance(model.get("vocab"), dict)):
        return None
    vocab = {str(k): int(v) for k, v in model["vocab"].items()}
    added = tuple(str(t["content"]) for t in spec.get("added_tokens") or () if t.get("content"))
    return (vocab, str(model.get("continuing_subword_prefix", "##")), str(model.get("unk_token", "[UNK]")),
            int(model.get("max_input_chars_per_word", 100)), added)
