"""How a task turns records into model inputs. Shared verbatim by training, evaluation and prediction.

A record is a dict of strings. Single-text tasks read ``title`` (optional) and ``text``; pair tasks read
``headline`` and ``body``. The spec is stored in every checkpoint, so predict applies exactly the cleaning
that training applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from newsclf.data.markers import strip_markers
from newsclf.data.text import join_title, normalize_space, repair_feed_residue
from newsclf.errors import NewsclfError

INPUT_KINDS = ("text", "pair")


@dataclass(frozen=True)
class InputSpec:
    kind: str = "text"  # text: title + text; pair: (headline, body)
    repair_feed_residue: bool = False  # undo feed damage (AG News: literal '\', ' #39;')
    strip_markers: bool = False  # remove syndication footers, wire credits, datelines (syndication)

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise NewsclfError(f"task.input: expected one of {INPUT_KINDS}, found {self.kind!r}")

    @property
    def fields(self) -> tuple[str, ...]:
        return ("headline", "body") if self.kind == "pair" else ("text",)

    def to_dict(self) -> dict:
        return asdict(self)

    def clean(self, text: str | None) -> str:
        text = text or ""
        if self.repair_feed_residue:
            text = repair_feed_residue(text)  # ends with normalize_space, which is idempotent
            if not self.strip_markers:
                return text
        if self.strip_markers:
            text, _ = strip_markers(text)
        return normalize_space(text)

    def model_input(self, record: dict) -> str | tuple[str, str]:
        if self.kind == "pair":
            return (self.clean(record.get("headline")), self.clean(record.get("body")))
        if self.strip_markers:
            # strip the title and the body separately: a title suffix '(Reuters)' is anchored at its end
            return join_title(self.clean(record.get("title")), self.clean(record.get("text")))
        return self.clean(join_title(record.get("title"), record.get("text")))

    def model_inputs(self, records: Iterable[dict]) -> list:
        return [self.model_input(r) for r in records]

    def claims(self, records: Iterable[dict]) -> list[str]:
        """Each pair's claim (the cleaned headline / target, as the model sees it); pair tasks only."""
        if self.kind != "pair":
            raise NewsclfError("task.new_claim_weights: claims exist only for pair input (task.input=pair), "
                               f"found {self.kind!r}")
        return [self.clean(r.get("headline")) for r in records]


def columns_to_records(columns: dict[str, Sequence]) -> list[dict]:
    """Turn a column dict (``Dataset[:]``) into a list of row dicts."""
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    return [{k: columns[k][i] for k in names} for i in range(n)]
