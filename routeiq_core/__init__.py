"""RouteIQ core: decide which LLM deployment should serve a request, and explain why.

``import routeiq_core`` does no I/O: the embedding model, centroids and plugins
load on first use.
"""

from __future__ import annotations

from typing import Any

from ._candidates import CAPABILITIES, TIER_NAMES, Candidate, Catalog, load_candidates
from ._cascade import CascadeEmbedder
from ._centroids import CentroidSet, Classification
from ._config import RouterConfig, load_config
from ._counters import Counters
from ._dataset import ModelPrice, RoutingDataset
from ._decision import Alternative, Decision, Ranking, Signal
from ._embedding import DEFAULT_MODEL_SHA256, Embedder, OnnxEmbedder, default_embedder
from ._exploration import Exploration
from ._extensions import AfterDecide, BeforeDecide, DecisionContext, RouterExtension
from ._featurize import Featurizer
from ._profiles import BUILTIN_PROFILES, Profile, relative_costs, select_many, utilities
from ._registry import PluginInfo, StrategyInfo, StrategyRegistry, default_registry
from ._request import Message, Request, RequestMetadata, parse_request
from ._router import Router
from ._static_embedding import StaticEmbedder
from ._strategy import (
    AsyncStrategy,
    BaseStrategy,
    LLMCallingStrategy,
    OnlineStrategy,
    Strategy,
    StrategyAbilities,
    TrainedStrategy,
    validate_strategy,
)
from ._types import Estimate, Query, StrategyParams, StrategyTags
from .errors import (
    ArtifactError,
    ArtifactVersionWarning,
    CandidateError,
    CentroidError,
    ConfigError,
    DatasetError,
    DecisionLogError,
    DecisionLogWarning,
    EmbeddingError,
    ExtensionWarning,
    FallbackWarning,
    FeedbackError,
    MissingDependencyError,
    NoCandidatesError,
    NotFittedError,
    PluginError,
    PluginLoadWarning,
    PolicyError,
    RequestError,
    RouteIQError,
    RouteIQWarning,
    StateWarning,
    StrategyError,
    StrategyNotFoundError,
    UnknownProfileError,
    describe_error,
)
from .hookspecs import hookimpl

__all__ = [
    "AfterDecide",
    "Alternative",
    "ArtifactError",
    "ArtifactVersionWarning",
    "AsyncStrategy",
    "BUILTIN_PROFILES",
    "BaseStrategy",
    "BeforeDecide",
    "CAPABILITIES",
    "Candidate",
    "CandidateError",
    "CascadeEmbedder",
    "Catalog",
    "CentroidError",
    "CentroidSet",
    "Classification",
    "ConfigError",
    "Counters",
    "DEFAULT_MODEL_SHA256",
    "DatasetError",
    "Decision",
    "DecisionContext",
    "DecisionLogError",
    "DecisionLogWarning",
    "Embedder",
    "EmbeddingError",
    "Estimate",
    "Exploration",
    "ExtensionWarning",
    "FallbackWarning",
    "Featurizer",
    "FeedbackError",
    "LLMCallingStrategy",
    "Message",
    "MissingDependencyError",
    "ModelPrice",
    "NoCandidatesError",
    "NotFittedError",
    "OnlineStrategy",
    "OnnxEmbedder",
    "PluginError",
    "PluginInfo",
    "PluginLoadWarning",
    "PolicyError",
    "Profile",
    "Query",
    "Ranking",
    "Request",
    "RequestError",
    "RequestMetadata",
    "RouteIQError",
    "RouteIQSettings",
    "RouteIQWarning",
    "Router",
    "RouterConfig",
    "RouterExtension",
    "RoutingDataset",
    "Signal",
    "StateWarning",
    "StaticEmbedder",
    "Strategy",
    "StrategyAbilities",
    "StrategyError",
    "StrategyInfo",
    "StrategyNotFoundError",
    "StrategyParams",
    "StrategyRegistry",
    "StrategyTags",
    "TIER_NAMES",
    "TrainedStrategy",
    "UnknownProfileError",
    "default_embedder",
    "default_registry",
    "describe_error",
    "hookimpl",
    "load_candidates",
    "load_config",
    "parse_request",
    "relative_costs",
    "select_many",
    "utilities",
    "validate_strategy",
]


def __getattr__(name: str) -> Any:
    if name == "RouteIQSettings":  # pydantic-settings loads only when settings are read (at the edges)
        from ._settings import RouteIQSettings

        return RouteIQSettings
    if name == "__version__":
        from importlib.metadata import version

        return version("routeiq")
    raise AttributeError(f"module 'routeiq_core' has no attribute {name!r}")
