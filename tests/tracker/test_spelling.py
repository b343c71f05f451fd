"""Near misses: which names a typo of another may be."""

import itertools
import random

import pytest

from tracker.spelling import choices, edit_distance, edits_allowed, near_misses


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("tumor-screen", "tumor-screen", 0),
        ("tumour-screen", "tumor-screen", 1),   # one letter too many
        ("mnsit", "mnist", 1),                  # two neighbours swapped
        ("churn", "chrun", 1),
        ("news-topics", "news-topcis", 1),
        ("fraud-v1", "fraud-v2", 1),
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("ca", "abc", 3),                       # optimal string alignment, not full Damerau
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def test_a_limit_cuts_the_work_short_but_never_the_answer():
    rng = random.Random(4)
    words = ["".join(rng.choice("abc-") for _ in range(rng.randint(0, 7))) for _ in range(120)]
    for a, b in itertools.product(words[:40], words):
        full = edit_distance(a, b)
        for limit in (0, 1, 2):
            assert edit_distance(a, b, limit=limit) == min(full, limit + 1), (a, b, limit)


@pytest.mark.parametrize(("word", "allowed"), [("ab", 0), ("nlp", 1), ("churn", 1),
                                               ("fraud1", 2), ("tumor-screen", 2)])
def test_short_names_allow_fewer_edits(word, allowed):
    assert edits_allowed(word) == allowed


def test_near_misses_come_closest_first_and_never_include_the_word_itself():
    projects = ["tumor-screen", "tumor-screens", "tumour-screen", "news-topics", "tumor-scan"]
    assert near_misses("tumour-screen", projects) == ["tumor-screen", "tumor-screens"]


def test_a_fold_makes_spellings_equal():
    def fold(slug):
        return slug.lower().replace("_", "-")

    assert near_misses("tumor_screen", ["tumor-screen", "churn"], fold=fold) == ["tumor-screen"]
    assert near_misses("Churn", ["churn", "chum", "chur"]) == ["churn", "chur"]


def test_short_names_do_not_match_everything():
    assert near_misses("ab", ["cd", "ac", "abc"]) == []
    assert near_misses("nlp", ["cv", "nl", "nlp2", "mlp"]) == ["mlp", "nl", "nlp2"]


def test_choices_are_quoted_for_a_question():
    assert choices(["a"]) == '"a"'
    assert choices(["a", "b"]) == '"a" or "b"'
    assert choices(["a", "b", "c", "d"]) == '"a", "b" or "c"'
