from django.db import migrations

# unaccent() is only STABLE (its dictionary could change), so it cannot appear in an index
# or a generated column. Ours names the dictionary explicitly and is declared IMMUTABLE:
# the usual PostgreSQL idiom for accent-insensitive indexes (see tsn/search.py).
CREATE = """
CREATE OR REPLACE FUNCTION tsn_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
"""


class Migration(migrations.Migration):
    dependencies = [("tsn", "0004_audit_time_index")]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql="DROP FUNCTION IF EXISTS tsn_unaccent(text)")
    ]
