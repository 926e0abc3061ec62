"""Syndication markers: detect, record and remove them before any model sees a text.

One table (:data:`MARKERS`) drives everything: each row names a marker, its kind and an anchored regular
expression. ``find_markers`` reports what a raw text carries (the ``evidence`` of a syndication
prediction); ``strip_markers`` removes all of it and normalises white space, so that a model learns the
writing and not the boilerplate. Stripping is idempotent: ``strip(strip(x)) == strip(x)``.

Kinds:
- ``footer``: a syndication disclaimer ("... has not been edited by NDTV staff and is auto-generated from a
  syndicated feed."). These define the NDTV label.
- ``credit``: a wire credit or dateline ("(Reuters)", "NEW DELHI (PTI) -", "--IANS", "(With inputs from PTI)").
- ``residue``: feed formatting that correlates with the source (literal backslashes, entity residue,
  double spaces). Removed by normalisation and recorded, but not reported as evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsclf.data.text import normalize_space

AGENCIES = (
    r"Reuters|AP|AFP|PTI|IANS|ANI|UNI|UPI|Bloomberg|dpa|DPA|Xinhua|Kyodo|Yonhap|EFE|Anadolu|TASS|"
    r"USATODAY\.com|Forbes\.com|washingtonpost\.com|NewsFactor|Ziff Davis|Sportsticker|SPACE\.com|"
    r"TechWeb|CNN|BBC|Canadian Press|CP|NLI|Devdiscourse"
)
_AG = rf"(?:{AGENCIES})"
# footers name the outlet's staff: "not been edited by <Outlet> staff"
_FOOTER_CORE = (
    r"(?:except for the headline,\s*)?this (?:story|article|report|news)\s+has not been edited by "
    r"[\w .&'-]{1,60}?\s*staff\s+and is (?:auto-generated|published|generated)\s+from an? "
    r"(?:syndicated|agency) (?:news )?feed\.?"
)


@dataclass(frozen=True)
class MarkerRule:
    name: str
    kind: str  # footer | credit | residue
    pattern: re.Pattern
    example: str  # a text the rule must match (tests use it)


def _rule(name: str, kind: str, regex: str, example: str, flags: int = 0) -> MarkerRule:
    return MarkerRule(name, kind, re.compile(regex, flags | re.MULTILINE), example)


MARKERS: tuple[MarkerRule, ...] = (
    # --- footers -------------------------------------------------------------------------------------
    _rule("ndtv_except_headline", "footer",
          r"\(?[ \t]*except for the headline,\s*this story has not been edited by ndtv staff and is "
          r"published from a syndicated feed\.?[ \t]*\)?",
          "(Except for the headline, this story has not been edited by NDTV staff and is published "
          "from a syndicated feed.)", re.I),
    _rule("ndtv_auto_generated", "footer",
          r"\(?[ \t]*this story has not been edited by ndtv staff and is auto-generated from a syndicated "
          r"feed\.?[ \t]*\)?",
          "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)",
          re.I),
    _rule("devdiscourse", "footer",
          r"\(?[ \t]*this (?:story|article) has not been edited by devdiscourse staff and is auto-generated "
          r"from a syndicated feed\.?[ \t]*\)?",
          "(This story has not been edited by Devdiscourse staff and is auto-generated from a syndicated "
          "feed.)", re.I),
    _rule("business_standard", "footer",
          r"\(?[ \t]*only the headline and picture of this report may have been reworked by the business "
          r"standard staff;\s*the rest of the content is auto-generated from a syndicated feed\.?[ \t]*\)?",
          "(Only the headline and picture of this report may have been reworked by the Business Standard "
          "staff; the rest of the content is auto-generated from a syndicated feed.)", re.I),
    _rule("syndicated_feed_generic", "footer", rf"\(?[ \t]*{_FOOTER_CORE}[ \t]*\)?",
          "(Except for the headline, this story has not been edited by Hindustan Times staff and is "
          "published from a syndicated feed.)", re.I),
    # --- wire credits and datelines --------------------------------------------------------------------
    _rule("devdiscourse_header", "credit",
          rf"^[ \t]*{_AG}[ \t]*\|[ \t]*Updated:[^\n]*$",
          "Reuters | Updated: 24-06-2024 07:11 IST | Created: 24-06-2024 07:11 IST"),
    _rule("with_inputs_from", "credit", r"\([ \t]*with inputs from [^()\n]{1,80}\)",
          "(With inputs from PTI)", re.I),
    _rule("dateline_agency", "credit",
          rf"^[ \t]*(?:[A-Z][A-Za-z.'’-]*(?:[ ,/]+[A-Z][A-Za-z.'’-]*){{0,4}}[ \t]*,?[ \t]*)?\({_AG}\)[ \t]*"
          r"(?:-{1,2}|–|—|:)[ \t]*",
          "NEW DELHI (PTI) - "),
    _rule("agency_dash_lead", "credit", rf"^[ \t]*{_AG}[ \t]+(?:-{{1,2}}|–|—)[ \t]+",
          "Reuters - "),
    _rule("agency_suffix", "credit", rf"[ \t]*\({_AG}\)[ \t]*$", "Stocks rise (Reuters)"),
    _rule("agency_trailer", "credit", rf"[ \t]*-{{1,2}}[ \t]*(?:{_AG})[ \t]*$", "said the minister.--IANS"),
    # --- feed-formatting residue -----------------------------------------------------------------------
    _rule("literal_backslash", "residue", r"\\+(?=\S)", "dwindling\\band"),
    _rule("entity_residue", "residue", r" ?#\d{1,5};|(?<![&\w])(?:quot|amp|lt|gt|nbsp|apos);",
          "it #39;s"),
    _rule("double_space", "residue", r"(?<=\S)[ \t]{2,}(?=\S)", "said.  The"),
)
_RESIDUE_REPLACEMENT = {"literal_backslash": " ", "entity_residue": " ", "double_space": " "}


@dataclass(frozen=True)
class Marker:
    name: str
    kind: str
    text: str
    start: int
    end: int

    def as_evidence(self) -> dict:
        return {"marker": self.name, "kind": self.kind, "text": self.text.strip()}


def find_markers(text: str) -> list[Marker]:
    """Every marker in ``text``, in order of position, without overlaps (the earlier table row wins)."""
    found: list[Marker] = []
    taken: list[tuple[int, int]] = []
    for rule in MARKERS:
        for m in rule.pattern.finditer(text):
            if m.end() == m.start() or any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append(Marker(rule.name, rule.kind, m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda mk: mk.start)


def strip_markers(text: str) -> tuple[str, list[Marker]]:
    """Remove every marker and normalise white space; return the clean text and what was removed.

    Repeated until nothing is left, because removing one marker can expose another (a credit before a
    footer). Normalisation: runs of spaces collapse to one, blank-line runs to one newline, ends stripped.
    """
    removed: list[Marker] = []
    for _ in range(10):
        markers = find_markers(text)
        if not markers:
            break
        removed.extend(markers)
        pieces, last = [], 0
        for mk in markers:
            pieces.append(text[last:mk.start])
            pieces.append(_RESIDUE_REPLACEMENT.get(mk.name, "\n" if mk.kind == "footer" else " "))
            last = mk.end
        pieces.append(text[last:])
        text = normalize_space("".join(pieces))
    return normalize_space(text), removed


def has_footer(text: str) -> bool:
    return any(mk.kind == "footer" for mk in find_markers(text))


def evidence(text: str) -> list[dict]:
    """Markers a user can show as evidence of syndication (footers and credits, not formatting residue)."""
    return [mk.as_evidence() for mk in find_markers(text) if mk.kind != "residue"]
