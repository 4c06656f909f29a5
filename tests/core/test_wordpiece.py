"""The exact ASCII word-piece path gives the ``tokenizers`` library's ids, on real text and random text."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from routeiq_core._embedding import TOKENIZER_PATH, load_tokenizer
from routeiq_core._wordpiece import PieceEncoder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encoder() -> PieceEncoder:
    enc = PieceEncoder(load_tokenizer(TOKENIZER_PATH))
    assert enc.exact_ascii
    return enc


def _same(enc: PieceEncoder, texts: list[str]) -> None:
    for text in texts:
        assert enc(text) == enc.library(text), repr(text[:120])


def test_the_docs_tokenise_the_same(encoder: PieceEncoder) -> None:
    """Every paragraph of the docs and the README: prose, tables, code blocks, URLs, shell lines."""
    paragraphs = [p for f in [*sorted((REPO / "docs").rglob("*.md")), REPO / "README.md"]
                  for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    assert len(paragraphs) > 500
    _same(encoder, paragraphs)


def test_random_ascii_tokenises_the_same(encoder: PieceEncoder) -> None:
    rng = random.Random(0)
    vocab = [w.removeprefix("##") for w in encoder.tokenizer.get_vocab()]
    alphabets = [string.printable, string.ascii_letters + string.punctuation + "   \n\t\r" + string.digits]
    texts = ["".join(rng.choice(alphabets[n % 2]) for _ in range(rng.randint(0, 200))) for n in range(3000)]
    # words glued from vocabulary pieces (the greedy longest match), upper case mixed in
    texts += [" ".join("".join(rng.choice(vocab) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 20)))
              for _ in range(1500)]
    texts += [t.upper() for t in texts[-300:]]
    _same(encoder, texts)


@pytest.mark.parametrize("text", [
    "", "   ", "\r\n\t spaced\t\tout ", "a" * 100, "a" * 101, "b" * 99 + " ok", "x" * 5000,
    "hello [MASK] world", "[CLS] x [SEP]", "[mask] in lower case", "[UNK] [PAD] [unused1]",
    "don't_stop__now", "e-mail: a@b.com!!", "def f(x):\n    return x**2  # square", "C++ & C# => ok?",
    "12345678901234567890 3.14159 1e-9", "zzzzqqqxxj unknownword", "~`!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/",
])
def test_edge_cases_tokenise_the_same(encoder: PieceEncoder, text: str) -> None:
    _same(encoder, [text])


@pytest.mark.parametrize("text", ["naïve café", "東京タワー", "emoji 🙂 here", "tab\x0bvertical", "nul\x00byte",
                                  "del\x7fchar", "lone \ud800 surrogate", "\uff26\uff35\uff2c\uff2c width"])
def test_other_text_goes_to_the_library(encoder: PieceEncoder, text: str) -> None:
    """Non-ASCII and control characters are the library's (its normaliser handles them)."""
    _same(encoder, [text])


def test_the_word_cache_is_bounded(encoder: PieceEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    import routeiq_core._wordpiece as wordpiece

    monkeypatch.setattr(wordpiece, "_MAX_CACHED_WORDS", 100)
    enc = PieceEncoder(encoder.tokenizer)
    text = " ".join(f"w{i}x" for i in range(1000))
    assert enc(text) == enc.library(text)
    assert len(enc._words) <= 100


def test_another_pipeline_is_left_to_the_library() -> None:
    """A tokenizer that does not lower-case (or is not WordPiece) never takes the exact path."""
    from tokenizers import Tokenizer

    spec = json.loads(TOKENIZER_PATH.read_text(encoding="utf-8"))
    spec["normalizer"]["lowercase"] = False
    cased = PieceEncoder(Tokenizer.from_str(json.dumps(spec)))
    assert not cased.exact_ascii
    assert cased("Hello World") == cased.library("Hello World")

    class NotSerialisable:
        def encode(self, text: str, add_special_tokens: bool = False) -> object:
            raise AssertionError("not called")

    assert not PieceEncoder(NotSerialisable()).exact_ascii


def test_the_shared_data_sets_tokenise_the_same(encoder: PieceEncoder, shared_data: Path) -> None:
    """Every string field of the first 2,000 rows of each shared JSONL file (about 12,000 texts)."""
    if not shared_data.is_dir():
        pytest.skip(f"shared data sets not found at {shared_data} (set ROUTEIQ_SHARED_DATA)")
    texts = []
    for path in sorted(shared_data.rglob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= 2000:
                    break
                texts += [v for v in json.loads(line).values() if isinstance(v, str) and len(v) > 3]
    assert len(texts) > 5000
    _same(encoder, texts)
