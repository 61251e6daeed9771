"""Helpers for files opened in spreadsheet software (CSV exports).

A cell whose text starts with "=", "+", "-" or "@" is read as a formula by Excel or
LibreOffice Calc ("CSV injection"): a label typed by a user, `=HYPERLINK("http://…")`,
would become a live link or worse in the reader's spreadsheet. A tab or a carriage return
in front can smuggle such a character past a naive check, so they are neutralised too.
"""

# The first characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: object) -> str:
    """The text of a cell as a spreadsheet will show it and never evaluate it: with a
    leading apostrophe when it starts like a formula (OWASP's advice), unchanged otherwise."""
    text = "" if text is None else str(text)
    if text.startswith(FORMULA_PREFIXES):
        return f"'{text}"
    return text
