"""The embedder: the real int8 MiniLM ONNX model with the real tokenizer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from routeiq_core import DEFAULT_MODEL_SHA256, OnnxEmbedder
from routeiq_core._embedding import (
    CHAR_WINDOW,
    CLS_ID,
    HEAD_TOKENS,
    MAX_TOKENS,
    SEP_ID,
    TOKENIZER_PATH,
    default_model_path,
    sha256_file,
)
from routeiq_core.errors import EmbeddingError

TEXTS = [
    "hi",
    "Write a Python function that merges two sorted lists.",
    "Summarise the following meeting notes in three bullet points: " + "the team discussed the budget. " * 30,
    "¿Dónde está la estación de tren? 駅はどこですか",
]


@pytest.fixture(scope="module")
def uncached() -> OnnxEmbedder:
    emb = OnnxEmbedder(cache_size=0)
    emb.load()
    return emb


def test_default_model_is_the_pinned_file(embedder: OnnxEmbedder) -> None:
    """The default embedder loads the wheel's model, whose sha256 is the pinned one and is the model_id."""
    assert embedder.model_path == default_model_path()
    assert embedder.model_id == DEFAULT_MODEL_SHA256 == sha256_file(default_model_path())
    assert embedder.dim == 384


def test_embeddings_are_unit_float32(embedder: OnnxEmbedder) -> None:
    """embed() returns a read-only (384,) float32 vector of norm 1."""
    vec = embedder.embed("The cat sat on the mat.")
    assert vec.shape == (384,) and vec.dtype == np.float32
    assert float(np.linalg.norm(vec)) == pytest.approx(1.0, abs=1e-5)
    assert not vec.flags.writeable


def test_embeddings_carry_meaning(embedder: OnnxEmbedder) -> None:
    """Paraphrases are closer to each other than to an unrelated sentence."""
    a = embedder.embed("How do I reverse a list in Python?")
    b = embedder.embed("What is the way to invert the order of a Python list?")
    c = embedder.embed("My grandmother grows tomatoes in her garden.")
    assert float(a @ b) > float(a @ c) + 0.3


def test_matches_an_independent_reference(uncached: OnnxEmbedder) -> None:
    """embed() equals a plain onnxruntime run (bitwise unpadded; within 1e-5 of a padded, masked batch)."""
    session = ort.InferenceSession(str(default_model_path()), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))  # ships with padding/truncation to 128
    texts = [TEXTS[0], TEXTS[1], TEXTS[3]]  # all shorter than 128 word pieces
    padded = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in padded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in padded], dtype=np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    for i, text in enumerate(texts):
        single = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        out = session.run(None, {"input_ids": single, "attention_mask": np.ones_like(single),
                                 "token_type_ids": np.zeros_like(single)})[0][0].mean(axis=0)
        assert np.array_equal(uncached.embed(text), (out / np.linalg.norm(out)).astype(np.float32))
        assert np.allclose(uncached.embed(text), pooled[i], atol=1e-5)


def test_single_texts_are_not_padded(uncached: OnnxEmbedder) -> None:
    """token_ids has no [PAD] (0) ids, and embed() equals the embed_many() rows bitwise, in any batch order."""
    for text in TEXTS:
        ids = uncached.token_ids(text)
        assert 0 not in ids and ids[0] == CLS_ID and ids[-1] == SEP_ID
    batch = uncached.embed_many(TEXTS)
    reversed_batch = uncached.embed_many(TEXTS[::-1])[::-1]
    singles = np.stack([uncached.embed(t) for t in TEXTS])
    assert np.array_equal(batch, singles) and np.array_equal(reversed_batch, singles)
    assert uncached.embed_many([]).shape == (0, 384)


def test_truncation_keeps_head_and_tail(embedder: OnnxEmbedder) -> None:
    """A 100,000-character text embeds; its ids are [CLS] + first 128 + last 126 word pieces + [SEP]."""
    head = "Zebras graze near the volcano while astronomers count comets. " * 16
    tail = " Penguins slide across the glacier as the icebreaker departs. " * 16
    filler = "lorem ipsum dolor sit amet " * 4000
    text = head + filler[: 100_000 - len(head) - len(tail)] + tail
    assert len(text) == 100_000
    ids = embedder.token_ids(text)
    assert len(ids) == MAX_TOKENS
    head_ids = embedder.token_ids(head)[1:-1]
    tail_ids = embedder.token_ids(tail)[1:-1]
    assert ids[1 : 1 + HEAD_TOKENS] == head_ids[:HEAD_TOKENS]
    n_tail = MAX_TOKENS - 2 - HEAD_TOKENS
    assert ids[-1 - n_tail : -1] == tail_ids[-n_tail:]
    vec = embedder.embed(text)
    assert vec.shape == (384,) and np.isfinite(vec).all()


def test_short_text_is_not_truncated(embedder: OnnxEmbedder) -> None:
    """A text under 254 word pieces keeps all of them."""
    text = "one two three " * 20
    assert len(embedder.token_ids(text)) == embedder.count_tokens(text) + 2 == 62


def test_huge_text_only_reads_the_character_windows(embedder: OnnxEmbedder) -> None:
    """Only the first and last CHAR_WINDOW (2,048) characters of a long text are tokenised; the middle never matters."""
    start, end = "A" * 10 + " start words " * 400, " end words " * 400
    middle_a, middle_b = "x " * 200_000, "completely different content " * 20_000
    text_a, text_b = start + middle_a + end, start + middle_b + end
    assert len(start) > CHAR_WINDOW and len(end) > CHAR_WINDOW
    assert embedder.token_ids(text_a) == embedder.token_ids(text_b)
    assert embedder.count_tokens(text_a) > MAX_TOKENS


def test_lone_surrogates_embed_like_their_replacement(embedder: OnnxEmbedder) -> None:
    """Text with lone surrogates (valid in Python and JSON, not in UTF-8) embeds as if they were '?'."""
    assert np.array_equal(embedder.embed("half \ud800 a pair"), embedder.embed("half ? a pair"))
    assert embedder.count_tokens("\udfff" * 10) == embedder.count_tokens("?" * 10)
    assert embedder.embed_many(["\ud83d", "ok"]).shape == (2, 384)


def test_cache_hit_returns_the_same_object() -> None:
    """A repeated text returns the cached array object; the LRU evicts the oldest entry when full."""
    emb = OnnxEmbedder(cache_size=2)
    a = emb.embed("alpha")
    assert emb.embed("alpha") is a
    emb.embed("beta")
    emb.embed("alpha")  # refresh alpha: beta is now the oldest
    emb.embed("gamma")  # evicts beta
    assert emb.cache_info() == {"size": 2, "max_size": 2}
    assert emb.embed("alpha") is a
    again = emb.embed("beta")
    assert np.array_equal(again, emb.embed("beta"))
    assert OnnxEmbedder(cache_size=0).embed("alpha") is not a


def test_concurrent_embedding_equals_sequential(uncached: OnnxEmbedder) -> None:
    """Eight threads embedding at once (no cache) give exactly the sequential results."""
    texts = [f"Request number {i}: explain topic {i % 7} in {i % 5 + 1} sentences." for i in range(48)]
    sequential = np.stack([uncached.embed(t) for t in texts])
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = np.stack(list(pool.map(uncached.embed, texts)))
    assert np.array_equal(parallel, sequential)


def test_concurrent_first_use_loads_once() -> None:
    """Many threads touching a fresh embedder load it once and all get the same vector."""
    emb = OnnxEmbedder()
    with ThreadPoolExecutor(max_workers=8) as pool:
        vectors = list(pool.map(lambda _: emb.embed("same text"), range(16)))
    assert all(np.array_equal(v, vectors[0]) for v in vectors)
    assert emb.model_id == DEFAULT_MODEL_SHA256


def test_the_fast_truncation_gives_exactly_the_pieces_of_the_whole_window() -> None:
    """Long texts are tokenised in two narrower windows first; the ids equal the whole window's
    (the policy applied to one tokenization), for prose, code, unicode and spaceless text."""
    import random

    from routeiq_core._embedding import (
        CHAR_WINDOW,
        HEAD_TOKENS,
        MAX_TOKENS,
        TOKENIZER_PATH,
        load_tokenizer,
        truncated_pieces,
    )
    from routeiq_core._wordpiece import encode_pieces

    tokenizer = load_tokenizer(TOKENIZER_PATH)

    def slow(text: str) -> list[int]:
        if len(text) > 2 * CHAR_WINDOW:
            text = text[:CHAR_WINDOW] + " " + text[-CHAR_WINDOW:]
        ids = encode_pieces(tokenizer, text)
        budget = MAX_TOKENS - 2
        return ids if len(ids) <= budget else ids[:HEAD_TOKENS] + ids[len(ids) - (budget - HEAD_TOKENS):]

    rng = random.Random(0)
    words = ["routing", "naïve", "東京", "x=1;", "def f(a, b):", "¿qué?", "https://example.com/a?b=c", "\n\t",
             "supercalifragilistic", "🙂", "3.14159", "l'été", "—"]
    texts = [" ".join(rng.choice(words) for _ in range(n)) for n in (300, 700, 1500, 4000, 9000)]
    texts += ["a" * 10_000, "word " * 3000, ("x" * 900 + " ") * 12, "short text"]
    for text in texts:
        assert truncated_pieces(lambda t: encode_pieces(tokenizer, t), text) == slow(text), text[:60]


class _CountingSession:
    """The real onnxruntime session, with its forward passes counted."""

    def __init__(self, session: object) -> None:
        self.session, self.runs = session, 0

    def run(self, *args: object, **kwargs: object) -> object:
        self.runs += 1
        return self.session.run(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)


INSTRUCTION_PROMPT = ("Summarise this article in two sentences: The city council voted on Tuesday to expand the "
                      "bike lane network across downtown, citing safety data and a rise in cycling commuters.")


def test_an_instruction_is_pooled_from_the_prompts_own_forward_pass() -> None:
    """embed_with_instruction runs the model once: the whole vector is embed()'s, bitwise, and the
    instruction's is the mean of its word pieces' hidden states in that pass (a plain onnxruntime
    run as the reference); a second call is served from the cache."""
    emb = OnnxEmbedder()
    emb.load()
    counting = _CountingSession(emb._session)
    emb._session = counting
    head = "Summarise this article in two sentences"
    whole, vec = emb.embed_with_instruction(INSTRUCTION_PROMPT, head)
    assert counting.runs == 1
    assert emb.embed_with_instruction(INSTRUCTION_PROMPT, head) == (whole, vec) and counting.runs == 1
    assert emb.embed(INSTRUCTION_PROMPT) is whole and counting.runs == 1  # the cache holds the whole vector too
    assert np.array_equal(whole, OnnxEmbedder(cache_size=0).embed(INSTRUCTION_PROMPT))

    session = ort.InferenceSession(str(default_model_path()), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    ids = np.array([tokenizer.encode(INSTRUCTION_PROMPT).ids], dtype=np.int64)
    n = len(tokenizer.encode(head, add_special_tokens=False).ids)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                "token_type_ids": np.zeros_like(ids)})[0][0]
    reference = hidden[1:1 + n].mean(axis=0)
    assert np.allclose(vec, reference / np.linalg.norm(reference), atol=1e-6)
    assert vec.dtype == np.float32 and not vec.flags.writeable
    alone = emb.embed(head)  # the instruction embedded on its own: close, not the same (it sees the text)
    assert 0.7 < float(vec @ alone) < 0.9999


def test_an_instruction_that_does_not_open_the_text_is_embedded_on_its_own(uncached: OnnxEmbedder) -> None:
    """Not the text's first word pieces (another phrase, or longer than the head the truncation keeps):
    both are embedded on their own; a wrong type is an EmbeddingError."""
    for head in ("Translate this email", "bike " * 130):
        whole, vec = uncached.embed_with_instruction(INSTRUCTION_PROMPT, head)
        assert np.array_equal(whole, uncached.embed(INSTRUCTION_PROMPT))
        assert np.array_equal(vec, uncached.embed(head))
    with pytest.raises(EmbeddingError, match="expects two str"):
        uncached.embed_with_instruction(INSTRUCTION_PROMPT, None)  # type: ignore[arg-type]
