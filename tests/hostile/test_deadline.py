"""A hanging embedder (defect 1): decisions past their deadline come back on signals and profile
only, and stuck embeddings never hold up the other requests (sync, async, batch, in LiteLLM)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from routeiq_core import OnnxEmbedder, Router

from .conftest import litellm_model_list

HANG = "HANG"


class HangingEmbedder:
    """The real embedder, except that a text containing HANG blocks until released (up to 60 s)."""

    dim = 384

    def __init__(self, real: OnnxEmbedder) -> None:
        self.real = real
        self.release = threading.Event()
        self.model_id = real.model_id

    def embed(self, text: str) -> Any:
        if HANG in text:
            self.release.wait(60)
        return self.real.embed(text)

    def embed_many(self, texts: Any) -> Any:
        return self.real.embed_many(texts) if not any(HANG in t for t in texts) else self.embed(HANG)


@pytest.fixture
def hanging(embedder: OnnxEmbedder) -> Iterator[HangingEmbedder]:
    emb = HangingEmbedder(embedder)
    yield emb
    emb.release.set()


def test_a_decision_past_its_deadline_is_made_on_signals_and_profile(hanging: HangingEmbedder) -> None:
    router = Router(embedder=hanging, deadline_ms=200)
    decision = router.decide(f"{HANG}: prove that there are infinitely many primes")
    assert decision.fallback and decision.category is None
    assert any("deadline of 200 ms passed" in w for w in decision.warnings)
    assert "deadline passed: decided on signals and profile only" in decision.reason
    assert decision.signal("reasoning").value > 0  # the text signals still count
    assert router.counters.get("deadline_exceeded") == 1
    assert decision.timings_ms["embed"] >= 200


def test_stuck_embeddings_do_not_hold_up_other_requests(hanging: HangingEmbedder) -> None:
    """Eight decisions hang in the embedder; the next ones are still embedded and classified."""
    router = Router(embedder=hanging, deadline_ms=5000)
    stuck = [threading.Thread(target=router.decide, args=(f"{HANG} {i}",), daemon=True) for i in range(6)]
    for thread in stuck:
        thread.start()
    time.sleep(0.2)
    others = [router.decide(f"Explain TCP versus UDP, variant {i}") for i in range(10)]
    assert all(not d.fallback and d.category is not None for d in others)
    assert router.counters.get("deadline_exceeded") == 0


def test_the_async_path_never_blocks_the_event_loop(hanging: HangingEmbedder) -> None:
    router = Router(embedder=hanging, deadline_ms=300)

    async def scenario() -> tuple[list[Any], float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick = asyncio.create_task(ticker())
        results = await asyncio.gather(*(router.adecide(f"{HANG} {i}") for i in range(4)),
                                       *(router.adecide(f"What is the capital of country {i}?") for i in range(8)))
        tick.cancel()
        return list(results), ticks

    results, ticks = asyncio.run(scenario())
    assert all(d.fallback for d in results[:4]) and not any(d.fallback for d in results[4:])
    assert ticks >= 10  # the loop kept running while four decisions waited out their deadline


def test_the_batch_path_has_a_deadline_too(hanging: HangingEmbedder) -> None:
    router = Router(embedder=hanging, deadline_ms=100)
    decisions = router.decide_batch(["hello", f"{HANG} inside a batch", "bye"])
    assert all(d.fallback for d in decisions)
    assert router.counters.get("deadline_exceeded") == 3


def test_no_deadline_means_the_caller_s_own_thread(embedder: OnnxEmbedder) -> None:
    """Without a deadline decide() embeds inline: no hand-off to the pool."""
    seen: list[str] = []

    class Recording:
        dim, model_id = 384, embedder.model_id

        def embed(self, text: str) -> Any:
            seen.append(threading.current_thread().name)
            return embedder.embed(text)

        def embed_many(self, texts: Any) -> Any:
            return embedder.embed_many(texts)

    Router(embedder=Recording()).decide("hi")  # type: ignore[arg-type]
    Router(embedder=Recording(), deadline_ms=1000).decide("hello")  # type: ignore[arg-type]
    assert seen[0] == threading.current_thread().name and seen[1].startswith("routeiq-embed")


def test_litellm_sync_completion_returns_within_its_own_timeout(hanging: HangingEmbedder) -> None:
    """Defect 1 in LiteLLM: completion(timeout=2) with a hanging embedder took 20 s; now the decision
    gives up after a quarter of the request's timeout and the request is served."""
    pytest.importorskip("litellm")
    import litellm

    import routeiq_litellm

    model_list = litellm_model_list()
    router = litellm.Router(model_list=model_list, num_retries=0)
    routeiq_litellm.install(router, Router([{"name": "x", "model": "x"}], embedder=hanging), warm_up=False)
    metadata: dict[str, Any] = {}
    start = time.perf_counter()
    response = router.completion(model="chat", messages=[{"role": "user", "content": f"{HANG} now"}],
                                 timeout=2, metadata=metadata)
    elapsed = time.perf_counter() - start
    assert response.choices[0].message.content in ("mini", "4o")
    assert elapsed < 2.0, f"the decision outlived the request's 2 s timeout ({elapsed:.1f} s)"
    assert metadata["routeiq"]["fallback"] is True
    assert any("deadline of 500 ms passed" in w for w in metadata["routeiq"]["warnings"])


def test_decide_batch_embeds_in_padded_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect 11: decide_batch ran one forward pass per prompt; now short prompts share passes, and
    the decisions equal decide()'s."""
    embedder = OnnxEmbedder(cache_size=0)
    passes: list[int] = []
    original = embedder._forward_padded

    def counting(batch: Any) -> Any:
        passes.append(len(batch))
        return original(batch)

    monkeypatch.setattr(embedder, "_forward_padded", counting)
    router = Router(embedder=embedder)
    prompts = [f"What is the capital of country number {i}?" for i in range(40)]
    batch = router.decide_batch(prompts)
    assert sum(passes) == 40 and len(passes) <= 2
    assert [d.to_dict(timings=False) for d in batch] == [router.decide(p).to_dict(timings=False) for p in prompts]
