"""One way to turn a pydantic ``ValidationError`` into RouteIQ's one-line messages.

``field: problem (got value)`` for each error, joined by ``; ``, behind a prefix that
says where (a file, ``profiles['x']``, a strategy). The offending value is shown with a
bounded repr (:func:`short_repr`), never built in full: a hostile value stays cheap.
"""

from __future__ import annotations

import reprlib

from pydantic import ValidationError

__all__ = ["format_validation_error", "short_repr"]

_REPR = reprlib.Repr()
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def short_repr(value: object, limit: int = 60) -> str:
    """A repr of at most about ``limit`` characters, built without expanding large values."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _part(part: object) -> str:
    """A field path part as written, or its bounded repr when it is not a plain name."""
    text = str(part)
    return text if text.isprintable() and text.strip() == text and 0 < len(text) <= 60 else short_repr(part, 40)


def format_validation_error(exc: ValidationError, prefix: str, *, root: str = "value", show_input: bool = True) -> str:
    """``prefix: field: message (got value); ...`` for every error in ``exc``."""
    problems = []
    for err in exc.errors(include_url=False, include_context=False, include_input=show_input):
        where = ".".join(_part(p) for p in err["loc"]) or root
        got = f" (got {short_repr(err['input'])})" if show_input and "input" in err else ""
        problems.append(f"{where}: {err['msg']}{got}")
    return f"{prefix}: {'; '.join(problems)}"
