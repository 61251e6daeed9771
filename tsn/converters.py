"""URL converters shared by the apps."""


class IdConverter:
    """A database id: at most 18 digits, so that it always fits a PostgreSQL bigint.

    Django's `int` converter takes any length, and a 20-digit id would reach the database
    and fail there (a 500) instead of being "not found".
    """

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
