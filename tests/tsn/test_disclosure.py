import pytest

from tsn.disclosure import mask_small_count


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "< 5"), (2, "< 5"), (4, "< 5"), (5, 5), (6, 6), (1_234, 1_234)],
)
def test_counts_from_one_to_four_are_masked(count, shown):
    assert mask_small_count(count) == shown
