"""GMT: user nodes and conversation history on top of the query-model graph."""

from __future__ import annotations

import numpy as np
import pytest

from routeiq_core import ConfigError, Query, RoutingDataset, default_embedder, parse_request
from routeiq_strategies.gmt import GMTStrategy, _Context, conversation_context
from routeiq_strategies.graph import graph_loss, init_graph_params

MATH = ["What is 17 times 23?", "Solve for x: 3x + 5 = 20.", "What is the derivative of x squared?",
        "Compute the integral of sin(x) from 0 to pi.", "Is 97 a prime number?", "What is the square root of 144?",
        "Factor the polynomial x^2 - 5x + 6.", "What is 15 percent of 80?"]
COOKING = ["How long should I boil an egg?", "At what temperature do I bake sourdough bread?",
           "How do I make a roux for gravy?", "What can I use instead of buttermilk in pancakes?",
           "How do I keep pasta from sticking together?", "How long do I roast a whole chicken?",
           "What is the best way to caramelise onions?", "How much salt goes into pizza dough?"]
FOLLOW_UP = "Please go on."


@pytest.fixture(scope="module")
def sessions() -> RoutingDataset:
    """40 conversations (one user each): a maths or cooking question, then two identical follow-ups.

    "mathbot" answers every turn of a maths conversation, "chef" every turn of a cooking one, so the
    follow-up turns can only be routed from the conversation history (or the user).
    """
    embedder = default_embedder()
    texts, users, scores = [], [], []
    for u in range(40):
        topic = u % 2
        first = (MATH if topic == 0 else COOKING)[u // 2 % 8]
        for turn in (first, FOLLOW_UP, FOLLOW_UP):
            texts.append(turn)
            users.append(f"user-{u}")
            scores.append([1.0, 0.0] if topic == 0 else [0.0, 1.0])
    return RoutingDataset(
        ids=tuple(f"r{i}" for i in range(len(texts))), prompts=tuple(texts), models=("mathbot", "chef"),
        scores=np.array(scores), users=tuple(users), embeddings=embedder.embed_many(texts),
        embedding_model=embedder.model_id, name="sessions",
    )


def _conversation(history: list[str], user: str | None = None) -> Query:
    messages = []
    for text in history:
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": "Sure."}]
    messages.append({"role": "user", "content": FOLLOW_UP})
    request = parse_request(messages=messages, metadata={"user": user} if user else None)
    return Query(text=FOLLOW_UP, embedding=default_embedder().embed(FOLLOW_UP), request=request)


def test_context_gradients_match_finite_differences() -> None:
    """The user/history weights and the shared model vectors get exact gradients through the preference head."""
    rng = np.random.default_rng(2)
    x, perf = rng.normal(size=(7, 5)), rng.random((7, 3))
    hide = rng.random((7, 3)) < 0.5
    context = _Context(rng.normal(size=(7, 5)), rng.normal(size=(7, 3)), dropout=0.0)
    params = init_graph_params(5, 3, 4, rng)
    params.update({"wc": rng.normal(size=(5, 4)), "wu": rng.normal(size=(4, 4))})

    def run() -> tuple[float, dict]:
        offset = context.forward(params, np.arange(7), np.random.default_rng(0))
        loss, grads, fwd = graph_loss(params, x, perf, ~hide, perf, hide, offset)
        grads.update(context.backward(params, fwd, grads))
        return loss, grads

    _, grads = run()
    for name, arr in params.items():
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + 1e-6
            up = run()[0]
            arr[idx] = old - 1e-6
            down = run()[0]
            arr[idx] = old
            numeric[idx] = (up - down) / 2e-6
        np.testing.assert_allclose(grads[name], numeric, atol=1e-7, err_msg=name)


def test_conversation_context_uses_previous_turns_and_leaves_the_row_out() -> None:
    """History = mean of the user's previous rows (up to k); preference = the user's other rows minus the global mean."""
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    scores = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    history, pref = conversation_context(emb, scores, ["u", "u", "u", None], history_turns=1)
    assert history[0].tolist() == [0.0, 0.0] and history[1].tolist() == [1.0, 0.0] and history[2].tolist() == [0.0, 1.0]
    assert history[3].tolist() == [0.0, 0.0] and pref[3].tolist() == [0.0, 0.0]
    global_mean = scores.mean(axis=0)
    np.testing.assert_allclose(pref[0], scores[[1, 2]].mean(axis=0) - global_mean)
    two, _ = conversation_context(emb, scores, ["u", "u", "u", None], history_turns=2)
    assert two[2].tolist() == [0.5, 0.5]
    none_h, none_p = conversation_context(emb, scores, None, 3)
    assert not none_h.any() and not none_p.any()


def test_history_from_the_request_decides_an_ambiguous_turn(sessions) -> None:
    """A new user's "Please go on." goes to the maths model after a maths question and to the chef after a cooking one."""
    strategy = GMTStrategy(steps=400, hidden_dim=32).fit(sessions)
    after_math = strategy.predict(_conversation(["What is 12 plus 30?"]), _candidates())
    after_cooking = strategy.predict(_conversation(["How do I poach a salmon fillet?"]), _candidates())
    alone = strategy.predict(_conversation([]), _candidates())
    assert after_math.details["history_turns"] == 1 and not after_math.details["user_known"]
    assert after_math.quality["mathbot"] > after_math.quality["chef"] + 0.2
    assert after_cooking.quality["chef"] > after_cooking.quality["mathbot"] + 0.2
    assert abs(alone.quality["mathbot"] - alone.quality["chef"]) < 0.2
    assert alone.details["fallback"].startswith("query-only graph")


def test_known_user_preference_is_used(sessions) -> None:
    """A user seen in training gets their own preference even without history."""
    strategy = GMTStrategy(steps=400, hidden_dim=32).fit(sessions)
    est = strategy.predict(_conversation([], user="user-1"), _candidates())  # user-1 talked about cooking
    assert est.details["user_known"] is True
    assert est.quality["chef"] > est.quality["mathbot"] + 0.2


def test_personalised_preferences_on_toy_data(make_toy) -> None:
    """Two users with opposite tastes on the same prompts: each known user gets their own winner."""
    data = make_toy(n=200, seed=5)
    ds = data.dataset
    users = tuple("alice" if i % 2 == 0 else "bob" for i in range(len(ds)))
    scores = np.where(np.array(users)[:, None] == "alice", [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    import dataclasses

    ds = dataclasses.replace(ds, users=users, scores=scores)
    strategy = GMTStrategy(steps=300).fit(ds)
    alice = strategy.predict(data.query(0, user="alice"), data.candidates).quality
    bob = strategy.predict(data.query(0, user="bob"), data.candidates).quality
    assert alice["a"] > alice["b"] and bob["b"] > bob["a"]
    assert strategy.user_ids_ == ["alice", "bob"]


def test_wrong_embedder_ignores_history_with_a_warning(clustered) -> None:
    """History that cannot be embedded with the training model is skipped, with a warning, not an error."""
    strategy = GMTStrategy(steps=100).fit(clustered.dataset)  # toy embeddings, model id "toy"
    request = parse_request(messages=[{"role": "user", "content": "earlier"}, {"role": "user", "content": "toy prompt"}])
    query = Query(text="toy prompt", embedding=clustered.query(0).embedding, request=request)
    est = strategy.predict(query, clustered.candidates)
    assert "history ignored" in est.details["warning"] and est.details["history_turns"] == 0
    assert est.quality == pytest.approx(strategy.predict(clustered.query(0), clustered.candidates).quality)


def test_candidates_roundtrip_and_tiny_data(clustered, checks, tmp_path) -> None:
    """Subset/superset candidates, save/load without pickle, pure predict, and too little data."""
    strategy = GMTStrategy(steps=200).fit(clustered.dataset)
    checks.candidate_sets(strategy, clustered)
    checks.roundtrip(strategy, clustered, tmp_path)
    checks.tiny_data(strategy, clustered, needs_differences=False)


@pytest.mark.parametrize("bad", [{"history_turns": -1}, {"context_dropout": 1.0}, {"history_turn": 2}])
def test_bad_params_are_config_errors(bad: dict) -> None:
    """Out-of-range or misspelled parameters raise ConfigError naming the field."""
    with pytest.raises(ConfigError, match=next(iter(bad))):
        GMTStrategy(**bad)


def test_llmrouter_gmt(llmrouter) -> None:
    """GMT on LLMRouter (tasks stand in for users): close to the best single model at a lower cost, with or without users."""
    strategy = GMTStrategy().fit(llmrouter.train)
    plain = llmrouter.evaluate(strategy, "gmt")
    personal = llmrouter.evaluate(strategy, "gmt+pseudo-users", with_users=True)
    for result in (plain, personal):
        assert result["max_quality"] < llmrouter.oracle
        assert result["margin"] > -0.01, result


def _candidates():
    from routeiq_core import Candidate

    return [Candidate(name="mathbot", input_cost_per_mtok=1, output_cost_per_mtok=1),
            Candidate(name="chef", input_cost_per_mtok=1, output_cost_per_mtok=1)]
