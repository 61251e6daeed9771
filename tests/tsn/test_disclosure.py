import random

import pytest

from tsn.disclosure import (
    COMPLEMENTARY_MASK,
    MASKED_COUNT,
    MaskedTable,
    mask_share,
    mask_small_count,
    mask_statistic,
    suppress_table,
)


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "< 5"), (2, "< 5"), (4, "< 5"), (5, 5), (6, 6), (1_234, 1_234)],
)
def test_counts_from_one_to_four_are_masked(count, shown):
    assert mask_small_count(count) == shown


M = MASKED_COUNT  # a small count masked
S = COMPLEMENTARY_MASK  # a larger one masked so that no small one is deduced from the totals


def test_a_breakdown_hides_a_second_cell_and_its_column_totals():
    # Row [0, 3, 10], total 13 shown. 3 is masked (primary); alone in the row it would be
    # 13 - 0 - 10, so the smallest non-zero shown cell, 10, is masked too (0 stays shown).
    # In a one-row table each column total equals its cell: the total 3 is masked (primary),
    # and column 3 now hides its only cell with 10 shown as its total, with no other non-zero
    # cell left, so its total is masked. The column totals {3, 10} against the grand total 13
    # are two masked values summing to 13: nothing more.
    assert suppress_table([[0, 3, 10]]) == MaskedTable(
        cells=[[0, M, S]], row_totals=[13], column_totals=[0, M, S], total=13
    )


def test_two_masked_cells_summing_to_a_small_count_need_a_third():
    # Row [1, 1, 6, 8], total 16: the masked 1 and 1 sum to 2 = 16 - 6 - 8, a small count, so
    # the smallest shown cell, 6, is masked; {1, 1, 6} sums to 8. As above, the column totals
    # of a one-row table follow their cells (1, 1 primary; 6 because its column hides its only
    # cell), and {1, 1, 6} against the grand total 16 sums to 8: nothing more.
    assert suppress_table([[1, 1, 6, 8]]) == MaskedTable(
        cells=[[M, M, S, 8]], row_totals=[16], column_totals=[M, M, S, 8], total=16
    )


def test_a_row_suppression_forces_column_suppressions():
    # [[2, 6, 9], [7, 8, 10]]: row totals 17, 25; column totals 9, 14, 19; grand total 42.
    # 2 is masked (primary). Row 1 (total 17) hides only 2: its smallest shown cell, 6, is
    # masked. Column 1 (total 9) hides only 2: 7 is masked below it. Column 2 (total 14) now
    # hides only 6: 8 is masked below it. Then row 1 hides {2, 6} = 8, row 2 {7, 8} = 15,
    # column 1 {2, 7} = 9, column 2 {6, 8} = 14; no total is masked: done.
    assert suppress_table([[2, 6, 9], [7, 8, 10]]) == MaskedTable(
        cells=[[M, S, 9], [S, S, 10]], row_totals=[17, 25], column_totals=[9, 14, 19], total=42
    )


def test_a_line_whose_other_cells_are_zero_masks_its_total():
    # [[3, 7], [0, 0]]: row totals 10, 0; column totals 3, 7; grand total 10.
    # 3 and its column total are masked (primary). Row 1 (total 10) hides only 3: 7 is masked.
    # Column 2 (total 7) then hides only 7 and its other cell is 0: its total is masked. The
    # column totals {3, 7} against 10 are two masked values summing to 10; zeros stay shown.
    assert suppress_table([[3, 7], [0, 0]]) == MaskedTable(
        cells=[[M, S], [0, 0]], row_totals=[10, 0], column_totals=[M, S], total=10
    )


def test_a_masked_total_whose_cells_are_all_shown_masks_one_of_them():
    # [[18, 0], [0, 4]]: row totals 18, 4; column totals 18, 4; grand total 22.
    # 4 and both totals 4 are masked (primary). Against the grand total 22, the row totals
    # hide only 4: the row total 18 is masked; likewise the column total 18. But row 1 would
    # still show 18 and 0, whose sum is its total, giving 4 = 22 - 18: so the 18 is masked.
    assert suppress_table([[18, 0], [0, 4]]) == MaskedTable(
        cells=[[S, 0], [0, M]], row_totals=[S, M], column_totals=[S, M], total=22
    )


def test_a_table_without_small_counts_is_published_whole():
    assert suppress_table([[5, 0], [6, 7]]) == MaskedTable(
        cells=[[5, 0], [6, 7]], row_totals=[5, 13], column_totals=[11, 7], total=18
    )


@pytest.mark.parametrize("cells", [[], [[]], [[], []]])
def test_an_empty_table_has_no_totals(cells):
    assert suppress_table(cells) == MaskedTable(cells=[], row_totals=[], column_totals=[], total=0)


@pytest.mark.parametrize("cells", [[[1, 2], [3]], [[5, -1]]])
def test_malformed_tables_are_refused(cells):
    with pytest.raises(ValueError):
        suppress_table(cells)


def _lines(cells, table):
    """Every line as (true members, shown members, true total, shown total)."""
    rows = [list(row) for row in cells]
    columns = [list(column) for column in zip(*rows, strict=True)]
    row_totals = [sum(row) for row in rows]
    column_totals = [sum(column) for column in columns]
    total = sum(row_totals)
    shown_columns = [list(column) for column in zip(*table.cells, strict=True)]
    return [
        *zip(rows, table.cells, row_totals, table.row_totals, strict=True),
        *zip(columns, shown_columns, column_totals, table.column_totals, strict=True),
        (row_totals, table.row_totals, total, table.total),
        (column_totals, table.column_totals, total, table.total),
    ]


def test_no_masked_value_is_a_shown_total_minus_shown_values():
    """Random small tables, many small counts and zeros; the call returning is termination."""
    rng = random.Random(20240501)
    for _ in range(400):
        n_rows, n_columns = rng.randint(1, 5), rng.randint(1, 5)
        cells = [
            [rng.choice([0, 0, rng.randint(1, 4), rng.randint(5, 40)]) for _ in range(n_columns)]
            for _ in range(n_rows)
        ]
        table = suppress_table(cells)
        for members, shown, total, shown_total in _lines(cells, table):
            for value, published in [*zip(members, shown, strict=True), (total, shown_total)]:
                # A small count is always "< 5"; a larger one is shown, or masked as "s".
                assert published == (M if 0 < value < 5 else value) or (
                    published == S and value >= 5
                )
                assert value or published == 0
            hidden = [
                value
                for value, published in zip(members, shown, strict=True)
                if published in (M, S)
            ]
            if shown_total not in (M, S):
                assert not hidden or (len(hidden) >= 2 and sum(hidden) not in range(1, 5)), cells
            elif total:
                assert hidden, cells


@pytest.mark.parametrize(
    ("numerator", "denominator", "shown"),
    [
        (0, 0, None),
        (0, 10, 0.0),
        (3, 10, M),
        (6, 10, M),  # 10 - 6 = 4 people outside the share
        (5, 10, 0.5),
        (10, 10, 1.0),
        (0, 3, M),  # 3 people outside the share
        (7, 20, 0.35),
    ],
)
def test_shares_hide_small_counts_on_either_side(numerator, denominator, shown):
    assert mask_share(numerator, denominator) == shown


@pytest.mark.parametrize(("numerator", "denominator"), [(-1, 10), (11, 10), (0, -1)])
def test_impossible_shares_are_refused(numerator, denominator):
    with pytest.raises(ValueError):
        mask_share(numerator, denominator)


@pytest.mark.parametrize(
    ("count", "value", "shown"),
    [(0, None, None), (0, 12.5, None), (7, None, None), (1, 12.5, M), (4, 3.0, M), (5, 3.0, 3.0)],
)
def test_statistics_over_fewer_than_five_people_are_masked(count, value, shown):
    assert mask_statistic(count, value) == shown


def test_statistics_over_a_negative_count_are_refused():
    with pytest.raises(ValueError):
        mask_statistic(-1, 2.0)
