"""Text normalisation shared by training, evaluation and prediction.

``repair_feed_residue`` undoes the damage that news feeds did to AG News-style text (literal ``\\`` for line
breaks, `` #39;``-style entity residue, HTML tags) and collapses runs of white space. It is applied the same
way at training and at prediction time (the checkpoint records it), so a model never sees a difference
between the two.
"""

from __future__ import annotations

import html
import re

_NUMERIC_ENTITY = re.compile(r" ?#(\d{1,5});")  # ' #39;' is '&#39;' with the '&' lost to a space
_NAMED_ENTITY = re.compile(r"(quot|amp|lt|gt|nbsp|apos);")  # 'quot;' with its '&' lost (see _named_entities)
_GLUED = re.compile(r"[&\w]")
_TAG = re.compile(r"<[^<>]{0,200}>")
_BACKSLASH_DOLLAR = re.compile(r"\\\$")
_BACKSLASH = re.compile(r"\\+")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
_NAMED = {"quot": '"', "amp": "&", "lt": "<", "gt": ">", "nbsp": " ", "apos": "'"}


def _numeric(match: re.Match) -> str:
    code = int(match.group(1))
    if code < 32 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return " "
    return chr(code)


def _named_entities(text: str) -> str:
    """``quot;`` -> ``"`` (and amp, lt, gt, nbsp, apos) unless glued to a preceding ``&`` or word character:
    what ``(?<![&\w])(quot|...);`` replaces, with the look-behind tested per match instead of at every
    position of the text (no two of these names overlap, so no match is lost by testing afterwards)."""
    def replace(m: re.Match) -> str:
        at = m.start()
        return m.group(0) if at and _GLUED.match(text, at - 1) else _NAMED[m.group(1)]

    return _NAMED_ENTITY.sub(replace, text)


def normalize_space(text: str) -> str:
    """Collapse runs of spaces/tabs to one space and blank-line runs to one newline; strip the ends.

    Each substitution runs only when the text holds what it would change (the same result, and most texts
    skip both: prediction throughput depends on it).
    """
    if "\t" in text or "\u00a0" in text:
        text = _SPACES.sub(" ", text)
    elif "  " in text:  # spaces only: halving every run with str.replace is several times faster than the regex
        while "  " in text:
            text = text.replace("  ", " ")
    if "\n" in text and _loose_newline(text):
        text = _BLANK_LINES.sub("\n", text)
    return text.strip()


def _loose_newline(text: str) -> bool:
    """Whether white space touches a newline (what ``_BLANK_LINES`` would change): a look at each newline's
    neighbours, several times faster than a regex scan of the whole text."""
    at = text.find("\n")
    while at != -1:
        if (at and text[at - 1].isspace()) or text[at + 1:at + 2].isspace():
            return True
        at = text.find("\n", at + 1)
    return False


def repair_feed_residue(text: str) -> str:
    """Repair feed residue: entities, literal backslashes, HTML tags; then normalise white space.

    >>> repair_feed_residue("Stocks rose past  #36;46\\\\a barrel, it #39;s said")
    "Stocks rose past $46 a barrel, it's said"
    """
    # each step only when its trigger character is present (checked on the text as the previous steps left it)
    if " #39;" in text:  # the most common entity, as the regex below would replace it (no callback per match)
        text = text.replace(" #39;", "'")
    if "#" in text:
        text = _NUMERIC_ENTITY.sub(_numeric, text)
    if ";" in text:
        text = _named_entities(text)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "\\" in text:
        text = _BACKSLASH_DOLLAR.sub("$", text)
        text = _BACKSLASH.sub(" ", text)
    return normalize_space(text)


def join_title(title: str | None, text: str | None) -> str:
    """The single-text model input: title and text on separate lines (either may be missing)."""
    parts = [p for p in ((title or "").strip(), (text or "").strip()) if p]
    return "\n".join(parts)
