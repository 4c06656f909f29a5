"""Pre-classification signals: agentic, reasoning, and a 5-level complexity.

Cheap, explainable rules on the request structure and text run before any
strategy. Each rule contributes a weighted value, and every contribution is
kept so the decision can show why (``Decision.signals``).

Complexity combines the text rules with the embedding-based difficulty
(cosine to the hard anchors minus cosine to the easy anchors, see
``_centroids.py``); :func:`complexity_level` maps the score in [0, 1] to 1..5.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ._request import Request
from ._types import Signal

__all__ = ["TextSignals", "analyse", "complexity_level"]

AGENTIC_THRESHOLD = 0.35
REASONING_THRESHOLD = 0.35

# The word lists of the text rules. They are matched in one pass over the lower-cased
# prompt (:data:`_WORDS`, one named group per list): four case-insensitive scans cost about
# four times as much, and the lists share no word, so the counts are the same.
_STRONG_REASONING = (
    r"prove|proof|derive|derivation|theorem|lemma|step[- ]by[- ]step|show that|rigorous(?:ly)?|"
    r"formally verify|reason (?:through|carefully|about)|think (?:carefully|step)|chain of thought|"
    r"by induction|contradiction|counterexample"
)
_WEAK_REASONING = (
    r"why|explain your reasoning|analy[sz]e|trade-?offs?|optimal|puzzle|probability|deduce|"
    r"evaluate whether|compare|justify|integral|equation|complexity|riddle|logic(?:al)?"
)
_AGENT = (
    r"you are an? (?:autonomous )?agent|tools?|function call|execute|terminal|shell|repository|"
    r"browse|step \d|plan and|observation|action:|scratchpad|workspace"
)
_CONSTRAINT = (
    r"must|should|ensure|without|at least|at most|handle|edge cases?|constraints?|requirements?|"
    r"do not|don't|exactly|only if"
)


def _first_letters(*alternations: str) -> str:
    """The characters the top-level alternatives of these patterns start with (each is a literal letter)."""
    firsts, depth, start = set(), 0, True
    for alternation in alternations:
        for ch in alternation + "|":
            if start:
                assert ch.isalpha(), alternation  # a lookahead on first letters needs literal first letters
                firsts.add(ch)
                start = False
            depth += ch == "("
            depth -= ch == ")"
            start = ch == "|" and depth == 0
    return "".join(sorted(firsts))


_WORDS = re.compile(  # the lookahead skips most word starts at once: 1.7x faster on long prompts
    rf"\b(?=[{_first_letters(_STRONG_REASONING, _WEAK_REASONING, _AGENT, _CONSTRAINT)}])"
    rf"(?:(?P<strong>{_STRONG_REASONING})|(?P<weak>{_WEAK_REASONING})|(?P<agent>{_AGENT})|"
    rf"(?P<constraint>{_CONSTRAINT}))\b"
)
_AGENT_WORDS = re.compile(rf"\b({_AGENT})\b", re.IGNORECASE)  # a long system prompt, on its own
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
_CODE = re.compile(r"```|\bdef |\bclass |\bfunction\b|#include|=>|\breturn\b|;\s*$|\{\s*$", re.MULTILINE)
# What every match of _CODE contains: a prompt with none of them is not searched (most prose).
_CODE_HINTS = ("`", "def ", "class ", "function", "#include", "=>", "return", ";", "{")

# Weights of the complexity score (they sum to 1).
W_LENGTH, W_REASONING, W_CONSTRAINTS, W_CODE, W_AGENTIC, W_DIFFICULTY = 0.15, 0.2, 0.1, 0.05, 0.1, 0.4


@dataclass(frozen=True, slots=True)
class TextSignals:
    """Signals computed from the request alone (no embedding)."""

    agentic: float
    reasoning: float
    length: float
    constraints: float
    code: float
    input_tokens: int
    parts: tuple[Signal, ...]

    @property
    def is_agentic(self) -> bool:
        return self.agentic >= AGENTIC_THRESHOLD

    @property
    def is_reasoning(self) -> bool:
        return self.reasoning >= REASONING_THRESHOLD


def _word_counts(prompt: str) -> dict[str, int]:
    """Hits per word list in the prompt's first 8,000 characters (agent words: the first 4,000)."""
    counts = dict.fromkeys(("strong", "weak", "agent", "constraint"), 0)
    for match in _WORDS.finditer(prompt[:8000].lower()):
        group = match.lastgroup
        if group is not None and (group != "agent" or match.end() <= 4000):
            counts[group] += 1
    return counts


def _agentic(request: Request, prompt_hits: int) -> tuple[float, list[Signal]]:
    parts: list[Signal] = []
    if request.tools:
        parts.append(Signal("agentic.tools_defined", 1.0, 0.35, f"{len(request.tools)} tool definition(s)"))
    tool_msgs = sum(1 for m in request.messages if m.role in ("tool", "function"))
    if tool_msgs:
        parts.append(Signal("agentic.tool_results", 1.0, 0.3, f"{tool_msgs} tool result message(s)"))
    call_turns = sum(1 for m in request.messages if m.role == "assistant" and m.tool_calls)
    if call_turns:
        parts.append(Signal("agentic.tool_calls", 1.0, 0.25, f"{call_turns} assistant turn(s) calling tools"))
    if call_turns >= 2:
        parts.append(Signal("agentic.tool_cycle", 1.0, 0.15, "repeated call/result cycles"))
    system = request.system_text
    if len(system) > 1500 and len(_AGENT_WORDS.findall(system[:20000])) >= 2:
        parts.append(Signal("agentic.agent_system_prompt", 1.0, 0.35, f"agent-like system prompt, {len(system)} chars"))
    if len(request.messages) > 12:
        parts.append(Signal("agentic.long_conversation", 1.0, 0.1, f"{len(request.messages)} messages"))
    if prompt_hits >= 2:
        parts.append(Signal("agentic.agent_words", min(1.0, prompt_hits / 4), 0.15, f"{prompt_hits} agent keyword(s)"))
    return min(1.0, float(sum(p.value * p.weight for p in parts))), parts


def _reasoning(strong: int, weak: int) -> tuple[float, list[Signal]]:
    parts: list[Signal] = []
    if strong:
        parts.append(Signal("reasoning.strong_markers", min(1.0, strong / 2), 0.7, f"{strong} proof/derivation marker(s)"))
    if weak:
        parts.append(Signal("reasoning.weak_markers", min(1.0, weak / 3), 0.3, f"{weak} analysis marker(s)"))
    return min(1.0, float(sum(p.value * p.weight for p in parts))), parts


def analyse(request: Request) -> TextSignals:
    """Compute the text/structure signals of a request (microseconds for normal prompts)."""
    prompt = request.prompt
    counts = _word_counts(prompt)
    agentic, agent_parts = _agentic(request, counts["agent"])
    reasoning, reason_parts = _reasoning(counts["strong"], counts["weak"])
    total_chars = request.total_chars
    input_tokens = max(1, total_chars // 4)
    prompt_tokens = len(prompt) / 4
    # 0 for a greeting, 0.5 around 100 tokens, 1 from about 2,000 tokens.
    length = min(1.0, max(0.0, (math.log10(max(prompt_tokens, 1.0)) - 0.5) / 2.8))
    sample = prompt[:8000]
    constraint_hits = counts["constraint"] + len(_LIST_LINE.findall(sample))
    constraints = min(1.0, constraint_hits / 6)
    code = 1.0 if any(hint in sample for hint in _CODE_HINTS) and _CODE.search(sample) else 0.0
    parts = tuple(agent_parts + reason_parts)
    return TextSignals(agentic, reasoning, length, constraints, code, input_tokens, parts)


def complexity_score(text: TextSignals, difficulty: float) -> tuple[float, list[Signal]]:
    """Weighted sum in [0, 1] of the complexity features, with the parts for the decision."""
    parts = [
        Signal("complexity.length", text.length, W_LENGTH, f"~{text.input_tokens} input tokens"),
        Signal("complexity.reasoning", text.reasoning, W_REASONING, "reasoning markers"),
        Signal("complexity.constraints", text.constraints, W_CONSTRAINTS, "requirements and list items"),
        Signal("complexity.code", text.code, W_CODE, "code in the prompt"),
        Signal("complexity.agentic", text.agentic, W_AGENTIC, "agentic structure"),
        Signal("complexity.difficulty", difficulty, W_DIFFICULTY, "embedding closer to hard than easy anchors"),
    ]
    return min(1.0, float(sum(p.value * p.weight for p in parts))), parts


#: Upper bounds of levels 1..4 on the complexity score.
LEVEL_BOUNDS = (0.15, 0.27, 0.38, 0.52)


def complexity_level(score: float) -> int:
    for level, bound in enumerate(LEVEL_BOUNDS, start=1):
        if score < bound:
            return level
    return 5
