"""Exceptions and warnings raised by RouteIQ.

Everything RouteIQ raises on purpose derives from :class:`RouteIQError`, so one
``except RouteIQError`` catches it all. The tree::

    RouteIQError
    ├── ConfigError            bad router / strategy / profile configuration      (ValueError)
    │   ├── UnknownProfileError   a profile name that does not exist
    │   └── DecisionLogError      a decision-log URL, file or schema that cannot be used
    ├── RequestError           a malformed request: prompt, messages, tools, metadata (ValueError)
    │   ├── FeedbackError         feedback for an unknown decision, or an invalid outcome
    │   └── PolicyError           a policy rule or budget rejected the request (the LiteLLM proxy: 403)
    ├── CandidateError         a malformed candidate or catalog                     (ValueError)
    ├── NoCandidatesError      nothing left to choose from                          (ValueError)
    ├── EmbeddingError         the embedding model or tokenizer is missing/corrupt
    ├── CentroidError          the shipped or user centroid file is missing/corrupt
    ├── DatasetError           malformed training / evaluation data                 (ValueError)
    ├── NotFittedError         a strategy used before ``fit``                        (ValueError)
    ├── StrategyError          a strategy failed while deciding
    ├── StrategyNotFoundError  no strategy registered under that name              (LookupError)
    ├── PluginError            a plugin failed to load (strict mode only)
    ├── ArtifactError          a saved artifact cannot be read / is incompatible
    └── MissingDependencyError an optional extra is not installed                  (ImportError)

    RouteIQWarning (UserWarning)
    ├── PluginLoadWarning      a plugin failed to load and was skipped
    ├── FallbackWarning        a strategy failed and the router used its fallback
    ├── ExtensionWarning       a router extension failed and was skipped
    ├── DecisionLogWarning     the decision log dropped records or cannot reach its database
    ├── StateWarning           the shared state store (Redis) failed; process-local state is used
    └── ArtifactVersionWarning an artifact from another minor version was loaded

Messages say what was expected, what arrived, and what to do.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "ArtifactVersionWarning",
    "CandidateError",
    "CentroidError",
    "ConfigError",
    "DatasetError",
    "DecisionLogError",
    "DecisionLogWarning",
    "EmbeddingError",
    "ExtensionWarning",
    "FallbackWarning",
    "FeedbackError",
    "MissingDependencyError",
    "NoCandidatesError",
    "NotFittedError",
    "PolicyError",
    "PluginError",
    "PluginLoadWarning",
    "RequestError",
    "RouteIQError",
    "RouteIQWarning",
    "StateWarning",
    "StrategyError",
    "StrategyNotFoundError",
    "UnknownProfileError",
    "describe_error",
]


class RouteIQError(Exception):
    """Base class: catch this for anything RouteIQ raises on purpose."""


class ConfigError(RouteIQError, ValueError):
    """Invalid configuration of a router, strategy or profile."""


class UnknownProfileError(ConfigError):
    """A profile name that is neither built in nor configured."""


class RequestError(RouteIQError, ValueError):
    """A malformed request. ``field`` names the offending part (e.g. ``messages[2].role``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CandidateError(RouteIQError, ValueError):
    """A malformed candidate definition or catalog file."""


class NoCandidatesError(RouteIQError, ValueError):
    """No candidate is left to choose from (none given, or all filtered out)."""


class EmbeddingError(RouteIQError):
    """The embedding model or tokenizer is missing, tampered with or unusable."""


class CentroidError(RouteIQError):
    """A centroid file is missing, corrupt, or built for another embedding model."""


class DatasetError(RouteIQError, ValueError):
    """Malformed training or evaluation data."""


class NotFittedError(RouteIQError, ValueError):
    """A strategy that needs training was used before ``fit`` or ``load``."""


class StrategyError(RouteIQError):
    """A strategy failed while deciding."""


class StrategyNotFoundError(RouteIQError, LookupError):
    """No strategy is registered under the requested name."""


class PluginError(RouteIQError):
    """A plugin failed to load (raised only in strict mode, otherwise a warning)."""


class ArtifactError(RouteIQError):
    """A saved artifact cannot be read, or was built with an incompatible model/format."""


class MissingDependencyError(RouteIQError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class RouteIQWarning(UserWarning):
    """Base class of RouteIQ's warnings."""


class PluginLoadWarning(RouteIQWarning):
    """A plugin failed to load and was skipped; the others keep working."""


class FallbackWarning(RouteIQWarning):
    """A strategy or plugin failed during a decision; the router used its fallback."""


class ExtensionWarning(RouteIQWarning):
    """A router extension failed in one decision; the decision went on without it."""


class DecisionLogError(ConfigError):
    """A decision-log URL, file or database schema that this RouteIQ cannot use."""


class FeedbackError(RequestError):
    """Feedback for an unknown decision id, or an outcome value out of range."""


class PolicyError(RequestError):
    """A policy rule or budget rejected the request; ``rule`` names it. Not contained by the extension
    runner: it reaches the caller (the LiteLLM adapters answer 403 with its message)."""

    status_code = 403

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message, field="policy")
        self.rule = rule


class DecisionLogWarning(RouteIQWarning):
    """The decision log dropped records (full queue) or cannot reach its database (retrying)."""


class StateWarning(RouteIQWarning):
    """The shared state store failed or returned a value it cannot read; decisions go on with local state."""


class ArtifactVersionWarning(RouteIQWarning):
    """An artifact written by another (compatible) RouteIQ version was loaded."""


def describe_error(exc: BaseException, limit: int = 200) -> str:
    """A prompt-free description of ``exc`` for warnings, logs, decisions and metadata.

    RouteIQ's own errors carry messages RouteIQ wrote (what was expected, what arrived as a
    type or a bounded value, what to do), so their message is kept, cut to ``limit``
    characters. Any other exception is named by its type only: its message may quote the
    prompt (a strategy or an LLM client echoing its input).
    """
    if isinstance(exc, RouteIQError):
        text = " ".join(str(exc).split())
        return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__
    return type(exc).__name__
