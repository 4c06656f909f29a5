"""The instruction of an "instruction: pasted text" prompt.

"Summarise this article: <an article about a council vote>" is an extraction task whatever the
article is about, but the whole prompt's embedding is dominated by the article. The category
classifier therefore also reads the instruction alone (see :meth:`CentroidSet.classify`).
"""

from __future__ import annotations

import re

__all__ = ["INSTRUCTION_MAX_WORDS", "instruction_of"]

#: "Summarise this article: <text>": at most this many words before the first line break or
#: colon followed by white space (not "https://" or "8:30"), within the first 120 characters,
#: then pasted text at least as long and 40 characters.
INSTRUCTION_MAX_WORDS = 14
_INSTRUCTION_END = re.compile(r":(?=\s)|\n")


def instruction_of(text: str) -> str | None:
    """The instruction of an "instruction: pasted text" prompt, or None. The category is read
    from it as well as from the whole prompt, so that an article about a council vote pasted
    after "Summarise this:" does not make the task "reasoning"."""
    found = _INSTRUCTION_END.search(text, 0, 122)
    if found is None or found.start() > 120:
        return None
    cut = found.start()
    head, body = text[:cut].strip(), text[cut + 1:].strip()
    if len(head) < 3 or len(head.split()) > INSTRUCTION_MAX_WORDS or len(body) < max(40, len(head)):
        return None
    return head
