"""Reading the JSON/YAML files users write (candidates, router configs, adapter settings)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import MissingDependencyError, RouteIQError

__all__ = ["read_structured_file"]


def read_structured_file(path: str | os.PathLike[str], what: str, error: type[RouteIQError]) -> Any:
    """Parse a JSON file, or a YAML file (``.yaml``/``.yml``, needs the ``yaml`` extra).

    ``what`` names the file in messages ("candidates file"); problems raise ``error``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc}); save the {what} as UTF-8 JSON or YAML") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise MissingDependencyError(
                f"reading {path.name} needs PyYAML: pip install 'routeiq[yaml]' (or use a .json file)"
            ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise error(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None  # one line
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON: {exc}") from None
