"""Sessions: the turns of one conversation keep their model, or only move up.

The conversation key is the request's ``session_id`` (also LiteLLM's ``litellm_session_id``),
else a fingerprint of the system prompt and the first user turn, so an agent loop that
resends its history keeps one key. The session's pin (candidate and tier) lives in a
:class:`~routeiq_core.state.StateStore` for ``ttl_s`` (default 30 min) after the last turn:
in memory, or on Redis so that every proxy worker sees it.

Policies:

``upgrade-only`` (default)
    a later turn may move to a stronger tier, never to a weaker one: when the ranking's
    choice is below the session's tier, the best-ranked eligible candidate at or above it
    serves instead. The ranking holds only candidates the profile and the request allow, so
    a ``free`` request is never upgraded out of free, and a candidate in cooldown or too
    small for the context is never served; if none is strong enough, the choice stands and
    the reason says so.
``sticky``
    the same candidate while it is eligible (a pin); when it is not (excluded, in cooldown,
    over its context), the ranking decides and its choice becomes the new pin.
``off``
    no session handling.

The decision shows it: a ``session`` signal, a clause in the reason, and
``details["session"]`` (policy, key fingerprint, the pinned tier and candidate, whether the
pin changed the choice). A state store that fails falls back to local state (see
:class:`~routeiq_core.state.RedisStore`); a value it cannot read (another version wrote
it) is ignored with a warning. Cost: one store read before and one write after each
decision of a session (memory: microseconds; Redis: one round trip each).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
from typing import TYPE_CHECKING, Any, Literal

from ._decision import Decision, serve_ranked
from ._types import Signal
from .errors import ConfigError, StateWarning

if TYPE_CHECKING:
    from ._extensions import DecisionContext
    from ._request import Request
    from .state import StateStore

__all__ = ["SESSION_POLICIES", "Sessions", "session_key"]

log = logging.getLogger("routeiq")

SESSION_POLICIES = ("upgrade-only", "sticky", "off")
Policy = Literal["upgrade-only", "sticky", "off"]
#: The version of the value written per session (another one is ignored with a warning).
VALUE_VERSION = 1


def session_key(request: Request) -> tuple[str, str] | None:
    """(a stable key, where it came from) for the request's conversation, or None for a lone prompt."""
    if request.metadata.session_id:
        return hashlib.sha256(f"id:{request.metadata.session_id}".encode()).hexdigest()[:32], "session_id"
    first_user = next((m.text for m in request.messages if m.role == "user" and m.text.strip()), None)
    if first_user is None or len(request.messages) < 2:
        return None  # a single prompt is not a conversation
    seed = f"{request.system_text}\x00{first_user}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32], "first turn"


class Sessions:
    """The session extension (see the module docstring)."""

    name = "sessions"

    def __init__(self, store: StateStore | str | None = None, *, policy: str = "upgrade-only",
                 ttl_s: float = 1800.0) -> None:
        from .state import open_store

        if policy not in SESSION_POLICIES:
            raise ConfigError(f"session policy {policy!r} is unknown; expected one of {', '.join(SESSION_POLICIES)}")
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not 0 < ttl_s <= 7 * 86400:
            raise ConfigError(f"session ttl_s must be a number of seconds in (0, 604800], got {ttl_s!r}")
        self.policy: str = policy
        self.ttl_s = float(ttl_s)
        self.store = open_store(store)
        self._warned_value = False

    @property
    def inline(self) -> bool:
        """No I/O on the request path with the in-process store (Redis is a round trip)."""
        from .state import MemoryStore

        return isinstance(self.store, MemoryStore)

    # ------------------------------------------------------------------ the stored pin
    def _load(self, key: str) -> dict[str, Any] | None:
        raw = self.store.get(f"session:{key}")
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            if not (isinstance(value, dict) and value.get("v") == VALUE_VERSION and isinstance(value.get("candidate"), str)
                    and isinstance(value.get("tier"), int)):
                raise ValueError("unexpected shape")
        except ValueError:
            if not self._warned_value:
                self._warned_value = True
                message = (f"session state in {self.store.url} was written by another version or is corrupt; "
                           "ignoring it (the session starts again)")
                warnings.warn(message, StateWarning, stacklevel=4)
                log.warning("routeiq: %s", message)
            return None
        return value

    def _save(self, key: str, candidate: str, tier: int, turns: int) -> None:
        value = {"v": VALUE_VERSION, "candidate": candidate, "tier": tier, "turns": turns}
        self.store.set(f"session:{key}", json.dumps(value, separators=(",", ":")), self.ttl_s)

    # ------------------------------------------------------------------ the hooks
    def before_decide(self, ctx: DecisionContext) -> None:
        if self.policy == "off":
            return
        found = session_key(ctx.request)
        if found is None:
            return
        key, source = found
        pinned = self._load(key)
        ctx.scratch["session"] = (key, source, pinned)
        if pinned is not None and self.policy == "sticky" and any(c.name == pinned["candidate"] for c in ctx.candidates):
            ctx.pin_candidate(pinned["candidate"], f"session pin (sticky): {pinned['candidate']}")

    def after_decide(self, decision: Decision, ctx: DecisionContext) -> Decision | None:
        state = ctx.scratch.get("session")
        if not isinstance(state, tuple):
            return None
        key: str = state[0]
        source: str = state[1]
        pinned: dict[str, Any] | None = state[2]
        note, changed = "", False
        if pinned is None:
            note = f"session started at tier {decision.candidate.tier}"
        elif self.policy == "upgrade-only" and decision.candidate.tier < pinned["tier"]:
            floor = int(pinned["tier"])
            index = next((i for i, a in enumerate(decision.ranking) if a.tier >= floor), None)
            if index is None:
                note = f"session tier {floor} kept where possible: no eligible candidate is that strong"
            else:
                decision = serve_ranked(decision, index, ctx.candidates)
                changed = True
                note = f"session upgrade-only: kept at tier >= {floor} ({decision.candidate.name})"
        elif self.policy == "sticky":
            same = decision.candidate.name == pinned["candidate"]
            note = (f"session pin (sticky): {pinned['candidate']}" if same else
                    f"session pin {pinned['candidate']} not eligible; new pin {decision.candidate.name}")
        else:
            note = f"session at tier {max(decision.candidate.tier, int(pinned['tier']))}"
        turns = 1 + (int(pinned.get("turns", 0)) if pinned else 0)
        tier = decision.candidate.tier if self.policy != "upgrade-only" or pinned is None else max(
            decision.candidate.tier, int(pinned["tier"]))
        self._save(key, decision.candidate.name, tier, turns)
        info = {"policy": self.policy, "key": key[:12], "from": source, "turn": turns,
                "pinned_tier": None if pinned is None else pinned["tier"],
                "pinned": None if pinned is None else pinned["candidate"], "changed": changed}
        signal = Signal("session", 1.0 if pinned is not None else 0.0, 1.0, note)
        return dataclasses.replace(decision, reason=f"{decision.reason}; {note}", signals=(*decision.signals, signal),
                                   details={**decision.details, "session": info})

