"""The integration pages show what the repository ships."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_proxy_page_embeds_the_example_config_verbatim() -> None:
    """docs/integrations/litellm-proxy.md shows examples/litellm_proxy_config.yaml exactly (the file the proxy test runs)."""
    example = (REPO / "examples" / "litellm_proxy_config.yaml").read_text()
    page = (REPO / "docs" / "integrations" / "litellm-proxy.md").read_text()
    assert f"```yaml\n{example}```" in page
