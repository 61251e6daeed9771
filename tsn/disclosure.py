"""Statistical disclosure control: small counts are never shown exactly.

A count of one to four people in a published table can identify them (a rare pathway in a
small commune). Every aggregate shown outside the care teams (ARS pages, evaluation reports,
exports) goes through `mask_small_count`.
"""

SMALL_COUNT_THRESHOLD = 5
MASKED_COUNT = f"< {SMALL_COUNT_THRESHOLD}"


def mask_small_count(count: int) -> int | str:
    """The count itself if it is 0 or at least the threshold, "< 5" otherwise."""
    if 0 < count < SMALL_COUNT_THRESHOLD:
        return MASKED_COUNT
    return count
