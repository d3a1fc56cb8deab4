"""Text normalisation shared by whitelist building and evaluation."""

import re

_SPACE = re.compile(r"\s+")
_TRAILING = re.compile(r"[.!?]+$")


def normalise(text: str) -> str:
    """Lower-case, trim, collapse white space and strip trailing `.!?`: the whitelist key of a reply."""
    text = _SPACE.sub(" ", text.strip().lower())
    return _TRAILING.sub("", text).rstrip()
