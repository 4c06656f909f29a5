"""Pre-classification signals (agentic, reasoning, complexity) and the centroid category classifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routeiq_core import Candidate, OnnxEmbedder, Router, parse_request
from routeiq_core._centroids import DEFAULT_SEEDS
from routeiq_core._signals import (
    AGENTIC_THRESHOLD,
    LEVEL_BOUNDS,
    REASONING_THRESHOLD,
    W_AGENTIC,
    W_CODE,
    W_CONSTRAINTS,
    W_DIFFICULTY,
    W_LENGTH,
    W_REASONING,
    analyse,
    complexity_level,
)

TOOLS = [{"type": "function", "function": {"name": "run_shell", "parameters": {"type": "object", "properties": {}}}}]
AGENT_SYSTEM = (
    "You are an autonomous agent working in a software repository. "
    + "Use the tools to inspect files, execute shell commands in the terminal and browse documentation. " * 20
)


def _parts(request_kwargs: dict) -> dict[str, float]:
    signals = analyse(parse_request(**request_kwargs))
    return {p.name: p.value * p.weight for p in signals.parts}


# --------------------------------------------------------------------------- agentic


def test_plain_chat_is_not_agentic() -> None:
    """A question with no tools, tool messages or agent wording has agentic score 0."""
    signals = analyse(parse_request("What is a good name for a goldfish?"))
    assert signals.agentic == 0 and not signals.is_agentic


def test_tools_defined_make_a_request_agentic() -> None:
    """Defining tools alone reaches the agentic threshold."""
    signals = analyse(parse_request("List the files in /tmp", tools=TOOLS))
    assert signals.is_agentic and signals.agentic >= AGENTIC_THRESHOLD
    assert _parts({"prompt": "x", "tools": TOOLS})["agentic.tools_defined"] == pytest.approx(0.35)


def test_tool_call_cycles_are_agentic() -> None:
    """Assistant tool calls with tool results are agentic; repeated cycles add the tool_cycle signal."""
    cycle = [
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "1", "type": "function", "function": {"name": "run_shell", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "ok"},
    ]
    one = [{"role": "user", "content": "build it"}, *cycle, {"role": "user", "content": "continue"}]
    signals = analyse(parse_request(messages=one))
    assert signals.is_agentic
    assert {"agentic.tool_results", "agentic.tool_calls"} <= set(_parts({"messages": one}))
    assert "agentic.tool_cycle" not in _parts({"messages": one})
    two = [{"role": "user", "content": "build it"}, *cycle, *cycle]
    assert "agentic.tool_cycle" in _parts({"messages": two})
    assert analyse(parse_request(messages=two)).agentic > signals.agentic


def test_long_agent_system_prompt_contributes() -> None:
    """A long system prompt full of agent wording is on its own enough to mark a request agentic."""
    messages = [{"role": "system", "content": AGENT_SYSTEM}, {"role": "user", "content": "Fix the failing build."}]
    parts = _parts({"messages": messages})
    assert parts["agentic.agent_system_prompt"] == pytest.approx(0.35)
    assert analyse(parse_request(messages=messages)).is_agentic
    assert analyse(parse_request(messages=messages, tools=TOOLS)).agentic == pytest.approx(0.7)
    short = [{"role": "system", "content": "You are an agent with tools."}, {"role": "user", "content": "hi"}]
    assert "agentic.agent_system_prompt" not in _parts({"messages": short})


def test_agentic_request_prefers_tool_capable_candidates(embedder: OnnxEmbedder) -> None:
    """With tools defined, candidates that do not declare tools are excluded, with the reason."""
    cands = [Candidate(name="toolless", input_cost_per_mtok=0.1, capabilities={"code"}, tier=3),
             Candidate(name="tooled", input_cost_per_mtok=0.2, capabilities={"tools"}, tier=3)]
    decision = Router(cands, embedder=embedder).decide("Run the test suite", tools=TOOLS)
    assert decision.name == "tooled"
    assert decision.excluded == {"toolless": "the request needs tools"}
    assert decision.signal("agentic").value >= AGENTIC_THRESHOLD
    assert "agentic" in decision.reason


# --------------------------------------------------------------------------- reasoning


@pytest.mark.parametrize(
    "prompt",
    ["Prove by induction that 2^n > n for every natural number n.",
     "Think step by step: derive the closed form of the Fibonacci numbers.",
     "Show that no counterexample exists, rigorously."],
)
def test_proof_and_derivation_prompts_are_reasoning(prompt: str) -> None:
    """Proof, derivation and step-by-step markers flag a reasoning request."""
    signals = analyse(parse_request(prompt))
    assert signals.is_reasoning and signals.reasoning >= REASONING_THRESHOLD


@pytest.mark.parametrize("prompt", ["hi", "Why is the sky blue?", "Compare tea and coffee."])
def test_everyday_questions_are_not_reasoning(prompt: str) -> None:
    """Greetings and single analysis words (why, compare) stay below the reasoning threshold."""
    assert not analyse(parse_request(prompt)).is_reasoning


def test_reasoning_is_read_from_the_routed_turn_only() -> None:
    """Markers in earlier turns do not count: the last user turn is what is routed."""
    messages = [{"role": "user", "content": "Prove Fermat's little theorem rigorously."},
                {"role": "assistant", "content": "Here is a proof..."},
                {"role": "user", "content": "thanks!"}]
    assert analyse(parse_request(messages=messages)).reasoning == 0


# --------------------------------------------------------------------------- complexity


def test_complexity_weights_sum_to_one_and_levels_are_monotone() -> None:
    """The complexity weights sum to 1 and complexity_level maps [0, 1] onto 1..5 in order."""
    assert W_LENGTH + W_REASONING + W_CONSTRAINTS + W_CODE + W_AGENTIC + W_DIFFICULTY == pytest.approx(1.0)
    assert complexity_level(0.0) == 1 and complexity_level(1.0) == 5
    assert [complexity_level(b) for b in LEVEL_BOUNDS] == [2, 3, 4, 5]
    levels = [complexity_level(x / 100) for x in range(101)]
    assert levels == sorted(levels)


@pytest.mark.parametrize("prompt", ["hi", "hello there", "thanks!", "good morning"])
def test_greetings_are_trivial(router: Router, prompt: str) -> None:
    """A greeting is complexity level 1 or 2."""
    assert router.decide(prompt).complexity in (1, 2)


@pytest.mark.parametrize(
    "prompt",
    [
        "Prove by contradiction that there are infinitely many primes of the form 4k+3.",
        "Design a lock-free concurrent hash map in C++ with hazard-pointer memory reclamation; handle the ABA "
        "problem and prove linearizability.",
        "Implement a distributed rate limiter for a multi-region API gateway: it must handle clock skew, network "
        "partitions and at least 1M requests per second; explain the trade-offs.",
    ],
)
def test_proofs_and_hard_systems_prompts_are_complex(router: Router, prompt: str) -> None:
    """A non-trivial proof or a hard systems-design prompt is complexity level 3 or more."""
    decision = router.decide(prompt)
    assert decision.complexity >= 3
    assert decision.details["required_tier"] >= 3


def test_complexity_signal_parts_are_reported(router: Router) -> None:
    """The decision lists each complexity feature with its weight, and they add up to the score."""
    decision = router.decide("Write a function that must handle edge cases:\n- empty input\n- unicode")
    parts = [s for s in decision.signals if s.name.startswith("complexity.")]
    assert {s.name for s in parts} == {"complexity.length", "complexity.reasoning", "complexity.constraints",
                                       "complexity.code", "complexity.agentic", "complexity.difficulty"}
    assert sum(s.value * s.weight for s in parts) == pytest.approx(decision.signal("complexity").value)


# --------------------------------------------------------------------------- categories

# Written for these tests; none of them is a seed prompt (checked below).
HELDOUT = {
    "code": [
        "Write a Python function that checks whether a string is a palindrome.",
        "Write a C function to reverse a linked list in place.",
        "Refactor this Python class to use dataclasses instead of a hand-written __init__.",
        "Write a unit test with pytest for a function that adds two numbers.",
        "Optimise this Go function that concatenates strings in a loop.",
        "Write a SQL query that selects all users who signed up in 2023.",
        "Write a shell script to back up my home directory every night.",
        "Write a React component that shows a counter with plus and minus buttons.",
    ],
    "math": [
        "Differentiate f(x) = x^3 ln(x) with respect to x.",
        "A fair die is rolled twice. What is the probability that the sum is 8?",
        "Solve the system 2x + y = 7 and x - y = 2.",
        "What is the sum of the interior angles of a hexagon?",
        "Compute the determinant of a 3x3 matrix with rows 1 2 3, 4 5 6, 7 8 10.",
        "What is 15% of 240?",
        "Find the limit of (1 + 1/n)^n as n goes to infinity.",
        "Prove that the product of two odd integers is odd.",
    ],
    "reasoning": [
        "Alice is older than Bob, and Bob is older than Carol. Who is the youngest? Explain.",
        "You have two ropes that each take an hour to burn unevenly. How can you measure 45 minutes?",
        "Plan a strategy to decide which of three job offers to accept given salary, commute and growth.",
        "If it rains the match is cancelled; the match was not cancelled. What can we conclude?",
        "Five people sit in a row; Ann is left of Ben, and Cal is at an end. List all valid arrangements.",
        "Weigh the pros and cons of renting versus buying a house for someone who moves every three years.",
    ],
    "creative": [
        "Write a poem about the sea at night from the point of view of a lighthouse.",
        "Invent five names for a coffee shop run by cats.",
        "Write a bedtime story about a dragon who is afraid of the dark.",
        "Compose a limerick about a forgetful wizard.",
        "Write song lyrics about leaving your hometown.",
        "Write a catchy slogan for an electric bicycle brand.",
    ],
    "knowledge": [
        "What does DNA stand for?",
        "What is the boiling point of water at sea level in Celsius?",
        "What causes the seasons on Earth?",
        "Which planet has the most moons?",
        "How many bones are in the adult human body?",
        "What is the largest desert in the world?",
    ],
    "extraction": [
        "Summarize the following email in two sentences.",
        "Extract the names of all people mentioned in this text and return them as a list.",
        "Classify the sentiment of this product review as positive, negative or neutral.",
        "Convert this CSV table into a JSON array of objects.",
        "Translate 'where is the train station' into German.",
        "Pull out every phone number from the message below.",
    ],
    "chat": [
        "hey, how's it going?",
        "good night!",
        "yo what's up",
        "haha nice one",
        "thanks a lot, that was really helpful!",
        "Good afternoon! Hope your day is going well.",
    ],
    "agentic": [
        "Open the project folder, run the unit tests, and fix whatever is failing.",
        "Check my calendar for free slots next week and send a meeting invite to the team.",
        "Clone the GitHub repo, install the dependencies and start the dev server.",
        "Find the cheapest flight to Lisbon next Friday and add it to my travel spreadsheet.",
        "Go through my inbox, archive the newsletters and draft replies to the urgent emails.",
        "Query the production database for yesterday's failed payments and open a ticket for each.",
    ],
}


#: Unambiguous prompts: each must be classified into its category.
CLEAR = {cat: prompts[:3] for cat, prompts in HELDOUT.items()}

FLOOR_TIERS = {"code": 2, "math": 2, "reasoning": 3, "creative": 2, "knowledge": 1, "extraction": 1, "chat": 1,
               "agentic": 3}


def test_held_out_prompts_are_not_seed_prompts() -> None:
    """None of the test prompts appears in the seed prompts the centroids were built from."""
    seeds = json.loads(Path(DEFAULT_SEEDS).read_text())
    seen = {p.strip().lower() for body in seeds["categories"].values() for p in body["prompts"]}
    seen |= {p.strip().lower() for p in seeds["difficulty"]["easy"] + seeds["difficulty"]["hard"]}
    assert not {p.lower() for prompts in HELDOUT.values() for p in prompts} & seen


@pytest.mark.parametrize(("category", "prompt"), [(c, p) for c, ps in CLEAR.items() for p in ps])
def test_clear_prompts_get_their_category(router: Router, category: str, prompt: str) -> None:
    """Clear prompts of each category are classified into it."""
    assert router.decide(prompt).category == category


def test_held_out_accuracy(router: Router) -> None:
    """Over all held-out prompts the classifier is right at least 80% of the time (measured: 50/52)."""
    results = [(cat, router.decide(p).category) for cat, ps in HELDOUT.items() for p in ps]
    accuracy = sum(a == b for a, b in results) / len(results)
    assert accuracy >= 0.8, [r for r in results if r[0] != r[1]]


def test_categories_and_floor_tiers(router: Router) -> None:
    """The shipped centroids have the eight documented categories with their floor tiers."""
    cset = router.centroids
    assert {c.name: c.floor_tier for c in cset.categories} == FLOOR_TIERS
    assert cset.dim == 384 and cset.embedding_model == router.embedder.model_id


@pytest.mark.parametrize("category", ["reasoning", "agentic"])
def test_floor_tier_applies_to_easy_prompts(router: Router, category: str) -> None:
    """A low-complexity prompt of a tier-3 category still requires tier 3, and gets a candidate
    at least as strong as that tier needs (by public rating; the catalog's price tier may be lower)."""
    from routeiq_core._centroid_strategy import rating_strengths, required_strength

    decision = router.decide(CLEAR[category][0])
    assert decision.category == category
    assert decision.details["required_tier"] >= FLOOR_TIERS[category]
    strengths, _ = rating_strengths(router.candidates)
    assert strengths is not None
    chosen = strengths[[c.name for c in router.candidates].index(decision.candidate.name)]
    assert chosen >= required_strength(strengths, FLOOR_TIERS[category])


def test_one_pass_counts_equal_a_scan_per_word_list() -> None:
    """The word lists are matched in one lower-cased pass; it counts what four separate
    case-insensitive scans count (the lists share no word), on every paragraph of the docs."""
    import re
    from pathlib import Path

    from routeiq_core import _signals as s

    lists = {"strong": s._STRONG_REASONING, "weak": s._WEAK_REASONING, "agent": s._AGENT,
             "constraint": s._CONSTRAINT}
    separate = {k: re.compile(rf"\b({v})\b", re.IGNORECASE) for k, v in lists.items()}
    docs = Path(__file__).resolve().parents[2] / "docs"
    paragraphs = [p for f in sorted(docs.rglob("*.md")) for p in f.read_text(encoding="utf-8").split("\n\n")]
    paragraphs += ["Prove it STEP BY STEP, then explain your reasoning: you are an autonomous agent with tools.",
                   "Must handle edge cases; do not use at most 3 tools. Why? Compare trade-offs."]
    hits = 0
    for text in paragraphs:
        counts = s._word_counts(text)
        expected = {k: len(p.findall(text[:4000 if k == "agent" else 8000])) for k, p in separate.items()}
        assert counts == expected, text[:80]
        hits += sum(counts.values())
    assert hits > 100
