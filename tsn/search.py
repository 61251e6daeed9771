"""Name search that forgives accents, case and typos: `tsn_unaccent(lower(text))` compared
by trigrams (PostgreSQL's pg_trgm).

`tsn_unaccent` is `unaccent` declared IMMUTABLE (tsn migration 0005), so that the searched
form of a name can be a stored generated column with a trigram index; the query goes
through the same function, so both sides are normalised alike. Names match a query when
pg_trgm's word similarity reaches `pg_trgm.word_similarity_threshold`, set for every
connection in settings (TSN's 0.45 instead of pg_trgm's 0.6: "dupomt" then finds
"Dupont"; the operator `%>` is the one the trigram index serves).
"""

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db.models import Func, TextField, Value
from django.db.models.functions import Lower


class SearchText(Func):
    """The searched form of a text: lower case, accents removed."""

    function = "tsn_unaccent"
    output_field = TextField()

    def __init__(self, expression, **extra):
        super().__init__(Lower(expression), **extra)


def searched(query: str) -> SearchText:
    """A user's query in the searched form."""
    return SearchText(Value(query))


def name_match(query: str, column: str = "search_name") -> TrigramWordSimilarity:
    """How closely `query` matches a run of words of the column (0 to 1), for ordering."""
    return TrigramWordSimilarity(searched(query), column)
