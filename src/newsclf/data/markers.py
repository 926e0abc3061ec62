"""Syndication markers: detect, record and remove them before any model sees a text.

One table (:data:`MARKERS`) drives everything: each row names a marker, its kind, an anchored regular
expression, texts it must match (``examples``) and ordinary sentences it must leave alone (``negatives``);
the unit tests iterate over the table. ``find_markers`` reports what a raw text carries (the ``evidence`` of a
syndication prediction); ``strip_markers`` removes all of it and normalises white space, so that a model
learns the writing and not the boilerplate. Stripping is idempotent: ``strip(strip(x)) == strip(x)``.

Kinds:
- ``footer``: a syndication disclaimer ("... has not been edited by NDTV staff and is auto-generated from a
  syndicated feed."). These define the NDTV label. Footers are whole, specific sentences, so they are
  matched anywhere.
- ``credit``: a wire credit, dateline or byline header ("(Reuters)", "NEW DELHI (PTI) -", "--IANS",
  "(With inputs from PTI)"). Credits are short and could look like ordinary text, so each is anchored:
  datelines and "Reuters - " only at the start of a line, "(Reuters)" and "--IANS" only at its end,
  parenthesised credits only in their full parenthesised form.
- ``residue``: feed formatting that correlates with the source (literal backslashes, entity residue, runs of
  spaces, typographic punctuation). Normalised, recorded, not reported as evidence.

``position`` says where a marker lives in a story (``start`` of a line, ``end`` of a line, or ``any``): the
leakage tests inject every footer and credit there and require unchanged model inputs.
"""

from __future__ import annotations

import bisect
import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from newsclf.data.text import normalize_space

# News agencies: a credit naming one of these marks wire copy (AG News weak labels use it).
WIRE_AGENCIES = (
    "Reuters", "AP", "AFP", "PTI", "IANS", "ANI", "UNI", "UPI", "Bloomberg", "dpa", "DPA", "Xinhua", "Kyodo",
    "Yonhap", "EFE", "Anadolu", "TASS", "AFX", "Canadian Press", "CP", "Dow Jones", "Dow Jones/AP", "DowJonesAP",
    "Knight Ridder", "KRT", "The Sports Network", "Sports Network", "SportsTicker", "Sportsticker", "Ticker", "U-WIRE",
    "IRNA", "Mehr News Agency", "CNS",
)
# Publishers and portals: their credits are removed too, but they do not make a story wire copy.
PUBLISHERS = (
    "Forbes.com", "washingtonpost.com", "NewsFactor", "Ziff Davis", "TechWeb", "CNN/Money", "CNN", "BBC",
    "NLI", "Devdiscourse", "PC World", "CBS.MW", "eWEEK", "InfoWorld", "MacCentral", "FT.com", "Billboard",
    "BusinessWeek Online", "CBC SPORTS ONLINE", "CBN News", "Chicago Tribune", "Editor and Publisher",
    "Investor's Business Daily", "Los Angeles Times", "The Motley Fool", "Business Wire", "PR Newswire",
)
_DOMAIN = r"[A-Za-z][\w-]*\.(?:com|net|org)"  # "(SPACE.com)", "USATODAY.com - ": a site credits itself


def _alternation(names: tuple[str, ...]) -> str:
    # longest first, so "Canadian Press" wins over "CP" and "Sports Network" needs no lookahead
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


_AG = rf"(?:{_alternation(WIRE_AGENCIES + PUBLISHERS)}|{_DOMAIN})"
_DASH = r"(?:-{1,2}|–|—)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# A dateline place: up to four capitalised or upper-case words ("NEW DELHI", "Ogden, Utah", "New Delhi [India]")
# A dateline place: up to four capitalised or upper-case words ("NEW DELHI", "Ogden, Utah", "New Delhi [India]").
# Only the last word may end in a full stop ("Fla.", "D.C.") besides "St."-style abbreviations, so a short
# lead sentence ("Talks Fail. NEW DELHI (PTI) -") is never taken for a place.
_WORD_IN = r"(?:(?:St|ST|Ft|FT|Mt|MT)\.|[A-Z](?:[A-Za-z'’-]|\.(?=[A-Za-z]))*)"
_WORD_END = rf"{_WORD_IN}\.?"
_PLACE = (rf"(?:{_WORD_IN}[ /]){{0,3}}{_WORD_END}"
          rf"(?:,[ \t]*(?:{_WORD_IN} ){{0,2}}{_WORD_END})?"  # ", Utah", ", Gaza Strip"
          r"(?:[ \t]*[\[(][A-Z][A-Za-z ]{1,30}[\])])?")  # " [India]", " (Maharashtra)"
_CAPS_PLACE = r"[A-Z]{2,}(?:[ -][A-Z]{2,}){0,3}(?:,[ \t]*[A-Z][A-Za-z.'’-]*(?:[ ][A-Z][A-Za-z.'’-]*){0,2})?"
_DATE = rf"{_MONTH}[ \t]+\d{{1,2}}"
# an upper-case byline before a dateline: "By MICHAEL LIEDTKE  SAN FRANCISCO (AP) --"
_BYLINE = r"By[ \t]+[A-Z][\w.'-]*(?:[ \t]+[A-Z][\w.'-]*){0,3}[ \t]+"
# the common footer family: "(Except for the headline,) this story has not been edited by <X> staff and is
# auto-generated / published from a syndicated feed."
_FOOTER_CORE = (
    r"(?:except for the headline,\s*)?this (?:story|article|report|news|copy)\s+has not been edited by "
    r"[\w .&'’-]{1,60}?\s*staff\s+and is (?:auto-generated|published|generated)\s+from (?:an? )?"
    r"(?:syndicated|agency|news agency|wire) (?:news )?feeds?\.?"
)


@dataclass(frozen=True)
class MarkerRule:
    name: str
    kind: str  # footer | credit | residue
    pattern: re.Pattern
    example: str  # the canonical text the rule matches
    examples: tuple[str, ...] = ()  # more texts the rule must match in full
    negatives: tuple[str, ...] = ()  # ordinary texts it must leave untouched
    # where the marker lives, which is where leakage tests inject it: start / end (of a line), line (a line
    # of its own), any (start or end), inner (after a lead sentence, mid-text)
    position: str = "any"
    inject: str = ""  # the bare marker to inject (default: ``example``)
    replace: Callable[[re.Match], str] | None = field(default=None, compare=False)  # residue repair
    # lower-case strings of which a matching text contains at least one: a cheap test that skips the regex
    # on most texts (footers are long case-insensitive patterns; this keeps stripping fast on long articles)
    gate: tuple[str, ...] = ()


def _rule(name: str, kind: str, regex: str, example: str, flags: int = 0, **kw) -> MarkerRule:
    return MarkerRule(name, kind, re.compile(regex, flags | re.MULTILINE), example, **kw)


def _paren(core: str) -> str:
    """A footer with or without its parentheses; the spaces inside them are part of it."""
    return rf"\(?[ \t]*{core}[ \t]*\)?"


_FOOTERS = (
    _rule("ndtv_except_headline", "footer",
          _paren(r"except for the headline,\s*this story has not been edited by ndtv staff and is published "
                 r"from a syndicated feed\.?"),
          "(Except for the headline, this story has not been edited by NDTV staff and is published from a "
          "syndicated feed.)", re.I,
          negatives=("Except for the headline, the story was rewritten by our desk.",),
          gate=("feed",)),
    _rule("ndtv_auto_generated", "footer",
          _paren(r"this story has not been edited by ndtv staff and is auto-generated from a syndicated feed\.?"),
          "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)", re.I,
          negatives=("This story has been edited by NDTV staff.",),
          gate=("feed",)),
    _rule("devdiscourse", "footer",
          _paren(r"this (?:story|article) has not been edited by devdiscourse staff and is auto-generated from "
                 r"a syndicated feed\.?"),
          "(This story has not been edited by Devdiscourse staff and is auto-generated from a syndicated feed.)",
          re.I, negatives=("Devdiscourse staff edited this story.",),
          gate=("feed",)),
    _rule("business_standard", "footer",
          _paren(r"only the headline and picture of this report may have been reworked by the business "
                 r"standard staff;\s*the rest of the content is auto-generated from a syndicated feed\.?"),
          "(Only the headline and picture of this report may have been reworked by the Business Standard staff; "
          "the rest of the content is auto-generated from a syndicated feed.)", re.I,
          negatives=("Only the headline of this report was changed by the Business Standard staff.",),
          gate=("feed",)),
    _rule("theprint", "footer",
          r"this report is auto-generated from press trust of india news service\.\s*theprint holds no "
          r"responsibility for its content\.?",
          "This report is auto-generated from Press Trust of India news service. ThePrint holds no "
          "responsibility for its content.", re.I,
          negatives=("ThePrint reported this from Press Trust of India news service.",),
          gate=("theprint",)),
    _rule("syndicated_feed_generic", "footer", _paren(_FOOTER_CORE),
          "(Except for the headline, this story has not been edited by Hindustan Times staff and is published "
          "from a syndicated feed.)", re.I,
          examples=("(This story has not been edited by Outlook staff and is auto-generated from news agency "
                    "feeds.)",
                    "This article has not been edited by The Week staff and is published from an agency feed."),
          negatives=("The story has not been edited yet, the staff said.",
                     "This story has been published from a syndicated feed of opinion pieces."),
          gate=("feed",)),
)

_CREDITS = (
    # Devdiscourse-style byline header on its own line: "Reuters | Updated: 24-06-2024 07:11 IST | ..."
    _rule("devdiscourse_header", "credit",
          r"^[ \t]*[^|\n]{1,60}?[ \t]*\|(?:[^|\n]{1,40}\|)?[ \t]*Updated:[ \t]*\d[^\n]*$",
          "Reuters | Updated: 24-06-2024 07:11 IST | Created: 24-06-2024 07:11 IST",
          examples=("Devdiscourse News Desk | New Delhi | Updated: 05-10-2021 10:12 IST | Created: 05-10-2021 "
                    "10:12 IST",),
          negatives=("Prices | Updated daily", "Scores updated: 3-1 at half time"), position="line",
          gate=("updated:",)),
    _rule("with_inputs_from", "credit",
          r"\([ \t]*with (?:inputs? from [^()\n]{1,80}|[\w&,.' -]{1,40} inputs?)[ \t]*\)",
          "(With inputs from PTI)", re.I,
          examples=("(With agency inputs)", "(with inputs from Reuters, AFP)", "(With PTI inputs)"),
          negatives=("The report was prepared with inputs from experts.",
                     "He spoke (with help from an interpreter) at length."),
          gate=("input",)),
    _rule("photo_credit", "credit", rf"\([ \t]*{_AG}[ \t]+Photo(?:/[^()\n]{{1,60}})?[ \t]*\)",
          "(AP Photo/Evan Vucci)", examples=("(Reuters Photo)",),
          negatives=("a photo taken by AP staff", "(Photo: NDTV)"),
          gate=("photo",)),
    _rule("source_credit", "credit", rf"\([ \t]*Source:[ \t]*{_AG}[ \t]*\)|^[ \t]*Source:[ \t]*{_AG}[ \t]*$",
          "(Source: PTI)", examples=("Source: Reuters",),
          negatives=("Source: company filings", "The source: Reuters reporting from Kabul."),
          gate=("source:",)),
    # "NEW DELHI (PTI) -", "WASHINGTON, Oct 5 (Reuters) -", "New Delhi [India], October 5 (ANI):",
    # "(Reuters) - ", and the IANS form without a dash "New Delhi, Oct 5 (IANS)", which needs the date.
    _rule("dateline_agency", "credit",
          rf"^[ \t]*(?:{_BYLINE})?(?:(?:{_PLACE}[ \t]*,?[ \t]*(?:{_DATE}[ \t]*)?(?:-[ \t]*)?)?\({_AG}\)[ \t]*"
          rf"(?:{_DASH}|:)|{_PLACE}[ \t]*,[ \t]*{_DATE}[ \t]*\({_AG}\)(?=[ \t]|$))[ \t]*",
          "NEW DELHI (PTI) - ",
          examples=("WASHINGTON, Oct 5 (Reuters) - ", "New Delhi [India], October 5 (ANI): ", "(Reuters) - ",
                    " NEW YORK (Reuters) - ", "OGDEN, Utah (AP) -- ", "PARIS (AFP) — ", "New Delhi, Oct 5 (IANS) ",
                    "By MICHAEL LIEDTKE SAN FRANCISCO (AP) -- ", "FORT LAUDERDALE, Fla. - (KRT) - ",
                    "NEW YORK (CNN/Money) - ", "JABALYA REFUGEE CAMP, Gaza Strip (Reuters) - ",
                    "GROZNY, (Reuters) - ", "ST. LOUIS (AP) -- ", "WASHINGTON, D.C. (AP) - "),
          negatives=("Prime Minister Narendra Modi (PTI) said on Tuesday that talks went well.",
                     "The Associated Press (AP) reported the figures.",
                     "THE BJP SAID (PTI) that it would win.",
                     "Petrol, Diesel Price Today: Petrol and diesel prices touched record highs."),
          position="start",
          gate=("(",)),
    # a dateline after a lead sentence ("... forecasts. NEW YORK (Reuters) - Oracle said"): the place must be
    # upper case and the credit must end in a dash or colon, so "said Modi (PTI)" in a sentence stays
    _rule("dateline_inner", "credit",
          rf"(?<=[.!?\"'”] ){_CAPS_PLACE}[ \t]*(?:,[ \t]*{_DATE}[ \t]*)?\({_AG}\)[ \t]*(?:{_DASH}|:)[ \t]*",
          "Oracle's bid stands. NEW YORK (Reuters) - ",
          examples=("Prices fell. LONDON (Reuters) - ", "in Gaza. RAFAH, Gaza Strip (AFP) - ",
                    "Talks Fail. NEW DELHI (PTI) - "),
          negatives=("The minister said so. BJP leaders (PTI) said nothing new.",
                     "Talks ended. THE BJP SAID (PTI) that it would win.",
                     "It was late. Officials told AP - the agency - on Monday."),
          position="inner", inject="NEW YORK (Reuters) - ",
          gate=("(",)),
    _rule("agency_dash_lead", "credit", rf"^[ \t]*{_AG}[ \t]+{_DASH}(?:[ \t]+|[ \t]*$)",
          "Reuters - ", examples=("AFP - ", "AP -- ", "SPACE.com - "),
          negatives=("The minister told Reuters - in a phone call - that he would resign.",
                     "APPLE - the company - said."),
          position="start",
          gate=("-", "—", "–")),
    _rule("agency_suffix", "credit", rf"\((?:{_AG}|Update\d{{1,2}})\)[ \t]*$",
          "Stocks rise (Reuters)", examples=("Fed raises rates (Update2)", "Kerry wins debate (AP) "),
          negatives=("The Associated Press (AP) said on Monday that it would appeal.",
                     "A report (Reuters) then said prices fell."),
          position="end", inject="(Reuters)",
          gate=(")",)),
    # "said the minister.--IANS", "-- IANS ab/cd": a dash after a sentence end (not "ex-AP")
    _rule("agency_trailer", "credit",
          rf"(?<=[.!?\"'”’)\s]){_DASH}[ \t]*{_AG}(?:[ \t]+[a-z]{{2,4}}(?:/[a-z]{{2,4}}){{1,2}})?[ \t]*$",
          "said the minister.--IANS", examples=("they said. -- IANS ab/cd",),
          negatives=("He was then an ex-AP staffer", "the merger of Reuters-AP", "He left ex-AFP"),
          position="end", inject="--IANS",
          gate=("-", "—", "–")),
    # PTI story slugs end with the desk's initials: "PTI ABC XYZ"
    _rule("pti_initials", "credit", r"(?<![\w(])PTI(?:[ \t]+[A-Z]{2,4}){2,4}[ \t]*$",
          "the court said. PTI ABC XYZ",
          negatives=("He told PTI on Monday", "the PTI report ON", "said the ruling PTI MNA"),
          position="end", inject="PTI ABC XYZ", gate=("pti",)),
)


def _entity(m: re.Match) -> str:
    code = m.group(1)
    if code is None:  # a named entity that lost its '&'
        return html.unescape("&" + m.group(0).strip())
    n = int(code)
    return chr(n) if 32 <= n <= 0x10FFFF and not 0xD800 <= n <= 0xDFFF else " "


_TYPOGRAPHY = {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-", "…": "...",
               "\u00a0": " "}
_RESIDUE = (
    _rule("literal_backslash", "residue", r"\\+(?=\S)", "dwindling\\band",
          negatives=("a / b",), replace=lambda m: " ",
          gate=("\\",)),
    _rule("entity_residue", "residue", r" ?#(\d{1,5});|(?<![&\w])(?:quot|amp|lt|gt|nbsp|apos);",
          "it #39;s", examples=("quot;", " #36;"), negatives=("issue #39 was closed",), replace=_entity,
          gate=(";",)),
    _rule("double_space", "residue", r"(?<=\S)[ \t]{2,}(?=\S)", "said.  The",
          negatives=("said. The",), replace=lambda m: " "),
    # typographic punctuation depends on the CMS, not on the writer: map it to ASCII
    _rule("typography", "residue", r"[“”„‘’‚–—…\u00a0]", "“", examples=("–", "’"),
          negatives=('"quoted"',), replace=lambda m: _TYPOGRAPHY[m.group(0)]),
)

MARKERS: tuple[MarkerRule, ...] = _FOOTERS + _CREDITS + _RESIDUE


def injectable(rule: MarkerRule) -> str:
    """The bare marker text that leakage tests add to inputs."""
    return rule.inject or rule.example


@dataclass(frozen=True)
class Marker:
    name: str
    kind: str
    text: str
    start: int
    end: int
    replacement: str = " "  # what strip_markers puts in its place

    @property
    def agency(self) -> str | None:
        """The agency or publisher a credit names, if any (``None`` for footers and residue)."""
        if self.kind != "credit":
            return None
        if re.search(r"\(Update\d", self.text):
            return "Bloomberg"  # Bloomberg's wire marks revisions "(Update1)", "(Update2)", ...
        m = re.search(rf"(?<![\w.]){_AG}(?![\w])", self.text.split("|")[0] if "|" in self.text else self.text)
        return m.group(0) if m else None

    def as_evidence(self) -> dict:
        out = {"marker": self.name, "kind": self.kind, "text": self.text.strip()}
        if self.agency:
            out["agency"] = self.agency
        return out


def find_markers(text: str) -> list[Marker]:
    """Every marker in ``text``, in order of position, without overlaps (the earlier table row wins)."""
    found: list[Marker] = []
    taken: list[tuple[int, int]] = []  # kept sorted by start: overlap tests are a binary search
    lower = text.lower()
    for rule in MARKERS:
        if rule.gate and not any(g in lower for g in rule.gate):
            continue
        for m in rule.pattern.finditer(text):
            if m.end() == m.start() or _overlaps(taken, m.start(), m.end()):
                continue
            bisect.insort(taken, (m.start(), m.end()))
            # footers and credits become a space: the line structure around them survives normalisation
            repl = rule.replace(m) if rule.replace else " "
            found.append(Marker(rule.name, rule.kind, m.group(0), m.start(), m.end(), repl))
    return sorted(found, key=lambda mk: mk.start)


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_left(taken, (start, start))
    return (i > 0 and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < end)


def strip_markers(text: str) -> tuple[str, list[Marker]]:
    """Remove every marker and normalise white space; return the clean text and what was removed.

    Repeated until nothing is left, because removing one marker can expose another (a credit before a
    footer). Normalisation: runs of spaces collapse to one, blank-line runs to one newline, ends stripped.
    """
    clean, removed = _strip(text)
    return clean, list(removed)


@functools.lru_cache(maxsize=8192)  # training, calibration and scoring clean the same texts several times
def _strip(text: str) -> tuple[str, tuple[Marker, ...]]:
    removed: list[Marker] = []
    for _ in range(10):
        markers = [mk for mk in find_markers(text) if mk.replacement != mk.text]
        if not markers:
            break
        removed.extend(markers)
        pieces, last = [], 0
        for mk in markers:
            pieces.append(text[last:mk.start])
            pieces.append(mk.replacement)
            last = mk.end
        pieces.append(text[last:])
        text = normalize_space("".join(pieces))
    return normalize_space(text), tuple(removed)


def has_footer(text: str) -> bool:
    return any(mk.kind == "footer" for mk in find_markers(text))


def evidence(text: str) -> list[dict]:
    """Markers a user can show as evidence of syndication (footers and credits, not formatting residue)."""
    return [mk.as_evidence() for mk in find_markers(text) if mk.kind != "residue"]


def wire_credit(text: str) -> str | None:
    """``"wire"`` if a credit names a news agency, ``"publisher"`` if only publishers, else ``None``."""
    agencies = {mk.agency for mk in find_markers(text) if mk.kind == "credit"} - {None}
    if not agencies:
        return None
    return "wire" if agencies & set(WIRE_AGENCIES) else "publisher"


def marker_only_text(text: str) -> str:
    """The removed markers as tokens ("footer_ndtv_auto_generated credit_with_inputs_from agency_PTI ...").

    A model trained on this alone shows what the leak would be worth if markers reached a model.
    """
    tokens = []
    for mk in find_markers(text):
        tokens.append(f"{mk.kind}_{mk.name}")
        if mk.agency:
            tokens.append("agency_" + re.sub(r"\W+", "_", mk.agency))
    return " ".join(tokens) or "no_marker"
