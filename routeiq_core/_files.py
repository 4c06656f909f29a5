"""Reading the JSON/YAML files users write (candidates, router configs, adapter settings, messages).

Every file is read as untrusted input, within fixed bounds:

* a regular file of at most 16 MiB (``_safe_io``: no FIFOs, devices or directories);
* UTF-8 text;
* YAML without anchors and aliases (a 642-byte "billion laughs" file would otherwise expand
  to gigabytes) and without Python-specific tags (``safe_load`` rules);
* at most :data:`MAX_DEPTH` levels of nesting, :data:`MAX_ITEMS` values in all, and numbers
  of at most :data:`MAX_NUMBER_DIGITS` digits.

Every problem raises the caller's error class with the file and, where known, the field.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ._safe_io import MAX_TEXT_FILE_BYTES, read_regular_bytes
from .errors import MissingDependencyError, RouteIQError

__all__ = ["MAX_DEPTH", "MAX_ITEMS", "MAX_NUMBER_DIGITS", "check_structure", "parse_json", "read_structured_file"]

MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
MAX_NUMBER_DIGITS = 100


def read_structured_file(path: str | os.PathLike[str], what: str, error: type[RouteIQError]) -> Any:
    """Parse a JSON file, or a YAML file (``.yaml``/``.yml``, needs the ``yaml`` extra).

    ``what`` names the file in messages ("candidates file"); problems raise ``error``.
    """
    path = Path(path)
    raw = read_regular_bytes(path, what, error, limit=MAX_TEXT_FILE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8 JSON or YAML") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _parse_yaml(text, path, error)
    else:
        data = parse_json(text, str(path), error)
    check_structure(data, str(path), error)
    return data


def parse_json(text: str, where: str, error: type[RouteIQError]) -> Any:
    """``json.loads`` with RouteIQ's bounds: nesting, huge numbers and NaN/Infinity are errors."""
    def number(literal: str) -> float | int:
        if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
            raise ValueError(f"a number of {len(literal)} characters (at most {MAX_NUMBER_DIGITS})")
        return float(literal) if any(c in literal for c in ".eE") else int(literal)

    def constant(name: str) -> float:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_int=number, parse_float=number, parse_constant=constant)
    except RecursionError:
        raise error(f"{where}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        raise error(f"{where}: not valid JSON: {' '.join(str(exc).split())[:200]}") from None


def _parse_yaml(text: str, path: Path, error: type[RouteIQError]) -> Any:
    try:
        import yaml
    except ImportError:
        raise MissingDependencyError(
            f"reading {path.name} needs PyYAML: pip install 'routeiq[yaml]' (or use a .json file)"
        ) from None

    class _Loader(yaml.SafeLoader):
        """SafeLoader that refuses anchors and aliases (no expansion attacks) and deep nesting."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.YAMLError(f"aliases (*{event.anchor}) are not allowed{_mark(event)}")
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if getattr(event, "anchor", None):
                raise yaml.YAMLError(f"anchors (&{event.anchor}) are not allowed{_mark(event)}")
            self._depth = getattr(self, "_depth", 0) + 1
            try:
                if self._depth > MAX_DEPTH:
                    raise yaml.YAMLError(f"nested too deeply (at most {MAX_DEPTH} levels){_mark(event)}")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_yaml_int(self, node: Any) -> Any:
            if len(str(node.value).lstrip("+-")) > MAX_NUMBER_DIGITS:
                raise yaml.YAMLError(f"a number of {len(node.value)} characters (at most {MAX_NUMBER_DIGITS})"
                                     f"{_mark(node)}")
            return super().construct_yaml_int(node)

    _Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {' '.join(str(exc).split())[:300]}") from None
    except (RecursionError, ValueError) as exc:
        raise error(f"{path}: not valid YAML ({type(exc).__name__})") from None


def _mark(item: Any) -> str:
    mark = getattr(item, "start_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def check_structure(data: Any, where: str, error: type[RouteIQError]) -> None:
    """Refuse data nested deeper than :data:`MAX_DEPTH`, with more than :data:`MAX_ITEMS` values,
    or with non-finite numbers (iteratively: no recursion to exhaust)."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    seen = 0
    while stack:
        value, depth, field = stack.pop()
        seen += 1
        if seen > MAX_ITEMS:
            raise error(f"{where}: more than {MAX_ITEMS} values")
        if depth > MAX_DEPTH:
            raise error(f"{where}: nested too deeply at {field or 'the top'} (at most {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            stack.extend((item, depth + 1, f"{field}.{key}" if field else str(key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{field}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise error(f"{where}: {field or 'a value'} is not a finite number")
