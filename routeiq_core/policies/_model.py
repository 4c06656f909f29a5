"""Policy rules and budgets: the declarative model, and loading it with line numbers.

A policy file (YAML or JSON; or the same structure as Python dicts)::

    rules:
      - name: interns-no-premium
        when: {teams: [interns]}
        then: {deny: {tiers_above: 3}, profile: eco}
      - name: code-needs-code-models
        when: {categories: [code], complexity: {min: 4}}
        then: {require: [code]}
      - name: no-images-to-local
        when: {images: true}
        then: {deny: {providers: [ollama]}}
      - name: block-legacy-key
        when: {match: {key_alias: "^legacy-"}}
        then: {reject: "legacy keys are retired; ask for a new key"}
    budgets:
      - {name: team-daily, scope: team, period: day, limit_usd: 50, action: downgrade, profile: eco}

Every condition of ``when`` that is set must hold (and); a list inside a condition matches any
of its values (or). ``then`` actions are described in ``docs/operations/policies.md``.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError

__all__ = ["Budget", "PolicySet", "Rule", "Selector", "Then", "When", "load_policies"]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Range(_Strict):
    min: int | None = Field(None, ge=1, le=5)
    max: int | None = Field(None, ge=1, le=5)

    @model_validator(mode="after")
    def _order(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}: the range is empty")
        return self


class TimeWindow(_Strict):
    days: list[Day] = Field(default_factory=lambda: list(DAYS))
    start: dtime = dtime(0, 0)
    end: dtime = dtime(23, 59, 59)
    utc_offset_hours: float = Field(0.0, ge=-14, le=14)


class When(_Strict):
    """Conditions on the request; unset ones are not checked."""

    users: list[str] | None = None
    teams: list[str] | None = None
    keys: list[str] | None = None
    tags: list[str] | None = None  # any of them
    match: dict[Literal["user", "team", "key_alias", "session_id", "tag"], str] | None = None  # regular expressions
    categories: list[str] | None = None
    complexity: Range | None = None
    agentic: bool | None = None
    reasoning: bool | None = None
    min_input_tokens: int | None = Field(None, ge=0)
    max_input_tokens: int | None = Field(None, ge=0)
    images: bool | None = None
    audio: bool | None = None
    tools: bool | None = None
    time: TimeWindow | None = None

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, pattern in (value or {}).items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match.{key}: {pattern!r} is not a valid regular expression ({exc})") from None
        return value


class Selector(_Strict):
    """Which candidates an action is about: any listed name, model, provider prefix or capability tag."""

    names: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    providers: list[str] = Field(default_factory=list)  # "openai" matches "openai/gpt-4o"
    tags: list[str] = Field(default_factory=list)  # capabilities, e.g. reasoning
    price_above_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)  # blended USD per 1M tokens
    tiers_above: int | None = Field(None, ge=0, le=5)

    def empty(self) -> bool:
        return not (self.names or self.models or self.providers or self.tags) and \
            self.price_above_per_mtok is None and self.tiers_above is None


class Then(_Strict):
    allow_only: Selector | None = None
    deny: Selector | None = None
    require: list[str] = Field(default_factory=list)  # capabilities every remaining candidate must have
    profile: str | None = None
    raise_profile: bool = False
    lower_profile: bool = False
    min_tier: int | None = Field(None, ge=1, le=5)
    max_tier: int | None = Field(None, ge=1, le=5)
    max_cost_usd: float | None = Field(None, ge=0, allow_inf_nan=False)  # estimated, per request
    pin: str | None = None
    reject: str | None = Field(None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> Then:
        if self.min_tier is not None and self.max_tier is not None and self.min_tier > self.max_tier:
            raise ValueError(f"min_tier {self.min_tier} is above max_tier {self.max_tier}: no candidate can pass")
        if self.raise_profile and self.lower_profile:
            raise ValueError("raise_profile and lower_profile contradict each other")
        if self.profile is not None and (self.raise_profile or self.lower_profile):
            raise ValueError("profile sets the profile; raise_profile / lower_profile move it: give one")
        if self.allow_only is not None and self.deny is not None:
            both = set(self.allow_only.names) & set(self.deny.names)
            if both:
                raise ValueError(f"allow_only and deny both name {sorted(both)}")
        for sel, label in ((self.allow_only, "allow_only"), (self.deny, "deny")):
            if sel is not None and sel.empty():
                raise ValueError(f"{label} selects nothing: give names, models, providers, tags, "
                                 "price_above_per_mtok or tiers_above")
        if not (self.allow_only or self.deny or self.require or self.profile or self.raise_profile or
                self.lower_profile or self.min_tier or self.max_tier or self.max_cost_usd is not None or self.pin or
                self.reject):
            raise ValueError("then: no action; give at least one (allow_only, deny, require, profile, raise_profile, "
                             "lower_profile, min_tier, max_tier, max_cost_usd, pin, reject)")
        return self


class Rule(_Strict):
    name: str = Field(pattern=NAME)
    description: str = ""
    when: When = When()
    then: Then


class Budget(_Strict):
    name: str = Field(pattern=NAME)
    scope: Literal["team", "key", "user"]
    period: Literal["hour", "day", "week", "month"] = "day"
    limit_usd: float = Field(gt=0, allow_inf_nan=False)
    action: Literal["downgrade", "deny_above", "reject"] = "downgrade"
    profile: str = "eco"  # for downgrade
    max_price_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)  # for deny_above

    @model_validator(mode="after")
    def _deny_needs_price(self) -> Budget:
        if self.action == "deny_above" and self.max_price_per_mtok is None:
            raise ValueError(f"budget {self.name!r}: action deny_above needs max_price_per_mtok")
        return self


class PolicySet(_Strict):
    rules: list[Rule] = Field(default_factory=list)
    budgets: list[Budget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> PolicySet:
        names = [r.name for r in self.rules] + [b.name for b in self.budgets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rule and budget names must be unique; repeated: {dup}")
        return self


# ------------------------------------------------------------------------- loading with lines
def _yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line (1-based) of every mapping key and sequence item, by its path in the document."""
    import yaml

    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                key_path = (*path, key.value)
                lines[key_path] = key.start_mark.line + 1
                walk(value, key_path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def load_policies(source: str | Path | dict[str, Any] | PolicySet) -> PolicySet:
    """A validated :class:`PolicySet` from a YAML/JSON file, a dict or itself; errors name the line."""
    if isinstance(source, PolicySet):
        return source
    lines: dict[tuple[Any, ...], int] = {}
    where = "policies"
    if isinstance(source, (str, Path)):
        from .._files import read_structured_file

        path = Path(source)
        where = str(path)
        data = read_structured_file(path, "policy file", ConfigError)
        try:
            lines = _yaml_lines(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ImportError):
            lines = {}
    else:
        data = source
    if data is None:
        data = {}
    if isinstance(data, dict) and "policies" in data and "rules" not in data:
        data = data["policies"] or {}
    try:
        return PolicySet.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:10]:
            loc = tuple(err["loc"])
            line = next((lines[loc[:k]] for k in range(len(loc), -1, -1) if loc[:k] in lines), None)
            at = ".".join(str(p) for p in loc) or "(top)"
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}{f' line {line}' if line else ''}: {at}: {message}")
        raise ConfigError("invalid policy: " + "; ".join(problems)) from None
