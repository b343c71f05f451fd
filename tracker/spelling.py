"""How far apart two names are, for "did you mean …?" hints. Pure: no Django, no models.

The distance is Damerau–Levenshtein's (optimal string alignment): an insertion, a
deletion, a substitution or a swap of two neighbouring characters is one edit, so
"tumour" is one edit from "tumor" and "mnsit" one from "mnist".
"""

from collections.abc import Callable, Iterable

MAX_EDITS = 2


def edit_distance(a: str, b: str, *, limit: int | None = None) -> int:
    """Edits that turn `a` into `b`; any result above `limit` is reported as `limit + 1`."""
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        # A swap reaches back two rows: stop only when both are past the limit.
        if limit is not None and min(current) > limit and min(previous) > limit:
            return limit + 1
        before, previous = previous, current
    distance = previous[-1]
    return distance if limit is None or distance <= limit else limit + 1


def edits_allowed(word: str) -> int:
    """How many edits still make a near miss of `word`: two, but one below six characters
    and none below three, where two edits turn any word into almost any other."""
    return min(MAX_EDITS, len(word) // 3)


def near_misses(word: str, candidates: Iterable[str], *,
                fold: Callable[[str], str] = str.lower) -> list[str]:
    """The candidates `word` may be a misspelling of, closest first (then alphabetically).

    Both sides are compared as `fold` writes them (lower case by default), so a
    candidate that folds to the same text is the closest of all; the word itself
    is never its own near miss.
    """
    folded = fold(word)
    allowed = edits_allowed(folded)
    found = []
    for candidate in candidates:
        if candidate == word:
            continue
        distance = edit_distance(folded, fold(candidate), limit=allowed)
        if distance <= allowed:
            found.append((distance, candidate))
    return [candidate for _, candidate in sorted(found)]


def choices(names: list[str], *, most: int = 3) -> str:
    """The first `most` names quoted for a question: '"a"', '"a" or "b"', '"a", "b" or "c"'."""
    quoted = [f'"{name}"' for name in names[:most]]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
