"""Near-duplicate grouping: exact Jaccard over character shingles, union-find groups, cross-split purge."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsclf.data.dedup import (
    cross_split_pairs,
    groups_from_pairs,
    near_duplicate_groups,
    near_duplicate_pairs,
    normalise,
    purge_cross_split,
)

STORY = ("The finance minister announced a new scheme for small farmers on Tuesday, promising cheaper loans "
         "and faster payments for crops bought by state agencies across the country.")
UPDATE = STORY.replace("Tuesday", "Wednesday") + " The opposition called it an election gimmick."
OTHER = ("Heavy rain flooded low-lying parts of the city overnight, and schools were shut as the weather office "
         "warned of more showers through the weekend.")
FOOTER = " (This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)"


def _jaccard(a: str, b: str, k: int) -> float:
    sa = {a[i:i + k] for i in range(max(1, len(a) - k + 1))}
    sb = {b[i:i + k] for i in range(max(1, len(b) - k + 1))}
    return len(sa & sb) / len(sa | sb)


def test_copies_and_updates_pair_up_unrelated_stories_do_not():
    pairs = near_duplicate_pairs([STORY, UPDATE, OTHER, STORY.upper()], threshold=0.3)
    assert {(i, j) for i, j, _ in pairs} == {(0, 1), (0, 3), (1, 3)}
    assert dict(((i, j), s) for i, j, s in pairs)[(0, 3)] == pytest.approx(1.0)  # case is normalised away


def test_a_shared_footer_does_not_make_stories_similar():
    short_a, short_b = "Markets rose today.", "Rain hit the city."
    assert near_duplicate_pairs([short_a + FOOTER, short_b + FOOTER], threshold=0.3) == []
    assert normalise(short_a + FOOTER) == "markets rose today"


def test_groups_are_connected_components():
    assert groups_from_pairs(5, [(0, 2, 1.0), (2, 4, 0.5)]) == [0, 1, 0, 3, 0]
    assert near_duplicate_groups([STORY, OTHER, UPDATE]) == [0, 1, 0]


def test_purge_keeps_a_group_only_in_its_latest_split():
    split_of = ["train", "train", "dev", "test", "test"]
    groups = [0, 1, 0, 0, 4]
    assert purge_cross_split(split_of, groups, ("train", "dev", "test")) == [False, True, False, True, True]


def test_cross_split_pairs_name_both_sides():
    found = cross_split_pairs({"train": [OTHER, STORY], "test": [UPDATE]}, threshold=0.3)
    assert [(a, i, b, j) for a, i, b, j, _ in found] == [("train", 1, "test", 0)]


@pytest.mark.parametrize("threshold", [0.0, -1, 1.5])
def test_threshold_out_of_range_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_pairs([STORY, OTHER], threshold=threshold)


@given(st.lists(st.text(alphabet="abc d", min_size=0, max_size=12), min_size=2, max_size=6),
       st.sampled_from([0.2, 0.5, 0.75, 0.9]))
@settings(max_examples=60, deadline=None)
def test_pairs_equal_brute_force_jaccard(texts, threshold):
    # exact ratios such as 9/10 sit right on a threshold: the sparse computation must agree with sets there
    k = 3
    docs = [normalise(t).ljust(k, "_") for t in texts]
    expected = {(i, j) for i, j in itertools.combinations(range(len(texts)), 2)
                if _jaccard(docs[i], docs[j], k) >= threshold}
    assert {(i, j) for i, j, _ in near_duplicate_pairs(texts, threshold, k=k, block=2)} == expected
