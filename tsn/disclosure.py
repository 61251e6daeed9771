"""Statistical disclosure control: small counts are never shown exactly.

A count of one to four people in a published table can identify them (a rare pathway in a
small commune). Every aggregate shown outside the care teams (ARS pages, evaluation reports,
exports) goes through `mask_small_count`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

SMALL_COUNT_THRESHOLD = 5
MASKED_COUNT = f"< {SMALL_COUNT_THRESHOLD}"
# A value of 5 or more masked so that a small one cannot be deduced from the totals
# ("secret statistique"): saying "< 5" of it would be false.
COMPLEMENTARY_MASK = "s"


def mask_small_count(count: int) -> int | str:
    """The count itself if it is 0 or at least the threshold, "< 5" otherwise."""
    if 0 < count < SMALL_COUNT_THRESHOLD:
        return MASKED_COUNT
    return count


@dataclass(frozen=True)
class MaskedTable:
    """A table of counts ready to publish with its totals; masked values are MASKED_COUNT
    (a small count) or COMPLEMENTARY_MASK (a larger one masked to protect a small one)."""

    cells: list[list[int | str]]
    row_totals: list[int | str]
    column_totals: list[int | str]
    total: int | str


type _Position = tuple[int, int]


def suppress_table(cells: Sequence[Sequence[int]]) -> MaskedTable:
    """Mask the small counts of a table, and enough other values that totals cannot reveal them.

    Masking 1-4 alone is not enough when the totals are published beside the table: a single
    masked cell is the total minus the shown cells. So each line (row, column, and the totals
    against the grand total) whose total is shown must hide none of its cells, or at least two
    whose sum is not itself a small count; otherwise one more cell is masked (the smallest
    non-zero one, to lose the least information), or the line's total when no such cell is left.
    A masked total whose cells are all shown would be their sum, so one of them is masked too.

    The values are laid out as a bordered grid: the cells, each row's total at the end of the
    row, the column totals as a last row, the grand total in the corner. Every line is then a
    list of members and the position of their total.
    """
    rows = [list(row) for row in cells]
    if any(len(row) != len(rows[0]) for row in rows):
        raise ValueError("Every row of the table must have the same number of columns.")
    if any(count < 0 for row in rows for count in row):
        raise ValueError("Counts cannot be negative.")
    if not rows or not rows[0]:
        return MaskedTable(cells=[], row_totals=[], column_totals=[], total=0)

    n_rows, n_columns = len(rows), len(rows[0])
    column_totals = [sum(column) for column in zip(*rows, strict=True)]
    grid = [[*row, sum(row)] for row in rows] + [[*column_totals, sum(column_totals)]]
    masked = [[0 < value < SMALL_COUNT_THRESHOLD for value in line] for line in grid]
    corner = (n_rows, n_columns)
    lines: list[tuple[list[_Position], _Position]] = [
        *(([(i, j) for j in range(n_columns)], (i, n_columns)) for i in range(n_rows)),
        *(([(i, j) for i in range(n_rows)], (n_rows, j)) for j in range(n_columns)),
        ([(i, n_columns) for i in range(n_rows)], corner),  # row totals
        ([(n_rows, j) for j in range(n_columns)], corner),  # column totals
    ]

    # Termination: values are only ever masked, never unmasked, and every pass but the last
    # masks at least one more of the finitely many values (a line in need always has a cell
    # or its own total left to mask). Hence at most one pass per value, plus a final one.
    for _ in range((n_rows + 1) * (n_columns + 1) + 1):
        changed = False
        for members, total in lines:
            position = _complement(members, total, grid, masked)
            if position is not None:
                masked[position[0]][position[1]] = True
                changed = True
        if not changed:
            break
    else:  # pragma: no cover - unreachable, see above
        raise RuntimeError("Complementary suppression did not converge.")

    shown = [
        [_masked(value) if hide else value for value, hide in zip(line, hidden, strict=True)]
        for line, hidden in zip(grid, masked, strict=True)
    ]
    return MaskedTable(
        cells=[line[:-1] for line in shown[:-1]],
        row_totals=[line[-1] for line in shown[:-1]],
        column_totals=shown[-1][:-1],
        total=shown[-1][-1],
    )


def _masked(value: int) -> str:
    return MASKED_COUNT if value < SMALL_COUNT_THRESHOLD else COMPLEMENTARY_MASK


def _complement(
    members: list[_Position], total: _Position, grid: list[list[int]], masked: list[list[bool]]
) -> _Position | None:
    """The value a line must mask next so that no masked member is recoverable, if any."""
    hidden = [grid[i][j] for i, j in members if masked[i][j]]
    shown = [(grid[i][j], (i, j)) for i, j in members if not masked[i][j] and grid[i][j]]
    # min() keeps the first of equal values: ties go to the first member in order.
    smallest = min(shown, key=lambda pair: pair[0], default=(0, None))[1]
    if masked[total[0]][total[1]]:
        return smallest if not hidden and grid[total[0]][total[1]] else None
    if len(hidden) == 1 or 0 < sum(hidden) < SMALL_COUNT_THRESHOLD:
        return smallest if smallest is not None else total
    return None


def mask_share(numerator: int, denominator: int) -> float | str | None:
    """The proportion, unless it would reveal a small count given its published denominator."""
    if not 0 <= numerator <= denominator:
        raise ValueError("A share needs 0 <= numerator <= denominator.")
    if denominator == 0:
        return None
    if 0 < numerator < SMALL_COUNT_THRESHOLD or 0 < denominator - numerator < SMALL_COUNT_THRESHOLD:
        return MASKED_COUNT
    return numerator / denominator


def mask_statistic(count: int, value: float | None) -> float | str | None:
    """A median, percentile or mean, unless it describes one to four people."""
    if count < 0:
        raise ValueError("A count cannot be negative.")
    if count == 0 or value is None:
        return None
    if count < SMALL_COUNT_THRESHOLD:
        return MASKED_COUNT
    return value
