"""Adapter settings: from keyword options, mappings, files and ROUTEIQ_LITELLM_CONFIG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routeiq_core.errors import ConfigError
from routeiq_litellm.settings import AdapterSettings, load_settings


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROUTEIQ_LITELLM_CONFIG: the zero-config defaults."""
    monkeypatch.delenv("ROUTEIQ_LITELLM_CONFIG", raising=False)
    settings = load_settings()
    assert (settings.strategy, settings.profile, settings.profile_header) == (
        "centroid",
        "auto",
        "x-routeiq-profile",
    )


def test_routeiq_section_of_a_proxy_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy's own YAML works: only its top-level routeiq: section is read."""
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\nrouteiq:\n  profile: eco\n  team_profiles: {t1: premium}\n")
    monkeypatch.setenv("ROUTEIQ_LITELLM_CONFIG", str(config))
    settings = load_settings()
    assert settings.profile == "eco" and settings.team_profiles == {"t1": "premium"}


def test_json_file_and_mapping(tmp_path: Path) -> None:
    """A JSON file and a plain mapping give the same settings."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"profile": "premium", "threads": 2}))
    assert (
        load_settings(path)
        == load_settings({"profile": "premium", "threads": 2})
        == AdapterSettings(profile="premium", threads=2)
    )


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("routeiq:\n  strategy_parms: {}\n", "strategy_parms"),
        ("routeiq: [1, 2]\n", "expected a mapping"),
        ("routeiq: {threads: 0}\n", "threads"),
        ("key: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_settings_say_what_is_wrong(tmp_path: Path, content: str, match: str) -> None:
    """Typos, wrong shapes and broken files are ConfigErrors naming the problem and the file."""
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match):
        load_settings(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that does not exist is reported with the path."""
    with pytest.raises(ConfigError, match="RouteIQ settings file not found: .*nope.yaml"):
        load_settings(tmp_path / "nope.yaml")
