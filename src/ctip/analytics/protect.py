"""Small-count protection: counts below k are shown as ``<k``, and no suppressed count can be
recovered by subtraction from a total.

Primary suppression hides every count of 1..k-1 (zero is not disclosive and stays visible).
Complementary suppression: within each group of cells that add up to a shown total, a group
with exactly one hidden cell also hides its next-smallest cell, so "total minus the rest" does
not give the hidden one away. Totals themselves are exact, and hidden when below k.

The analyst can ask for exact internal figures (``--exact``); outputs then say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

DEFAULT_THRESHOLD = 10


def is_small(count: int, threshold: int) -> bool:
    return 0 < count < threshold


def shown(count: int | None, threshold: int, *, exact: bool = False) -> int | str | None:
    """The value to show for one count: the count, or ``<k``."""
    if count is None or exact or not is_small(count, threshold):
        return count
    return f"<{threshold}"


def protect_rows(
    rows: Sequence[dict[str, Any]],
    threshold: int,
    *,
    exact: bool = False,
    count_key: str = "count",
    group: Callable[[dict[str, Any]], Hashable] | None = None,
) -> list[dict[str, Any]]:
    """Suppress small counts in ``rows`` (dicts with a count); returns new dicts.

    ``group`` names the margin each row belongs to (e.g. the year for a year x gender table);
    complementary suppression is applied within each group. Each output row gets
    ``suppressed: bool``; with ``exact`` nothing is hidden.
    """
    hidden = [not exact and is_small(int(r[count_key] or 0), threshold) for r in rows]
    if not exact and group is not None:
        members: dict[Hashable, list[int]] = defaultdict(list)
        for index, row in enumerate(rows):
            members[group(row)].append(index)
        for indices in members.values():
            if len(indices) > 1 and sum(hidden[i] for i in indices) == 1:
                visible = [i for i in indices if not hidden[i] and int(rows[i][count_key] or 0) > 0]
                if visible:
                    smallest = min(visible, key=lambda i: int(rows[i][count_key]))
                    hidden[smallest] = True
    result = []
    for row, hide in zip(rows, hidden, strict=True):
        copy = dict(row)
        if hide:
            copy[count_key] = f"<{threshold}"
            for key in ("share", "percent"):
                if key in copy:
                    copy[key] = None
        copy["suppressed"] = hide
        result.append(copy)
    return result


def protect_total(total: int, threshold: int, *, exact: bool = False) -> int | str:
    value = shown(total, threshold, exact=exact)
    return value if value is not None else 0
