"""`field__any=[...]`: `field = ANY(%s)` with the list as one array parameter.

`__in` writes one placeholder per value; the access check narrows each of its five
grounds to the page's patients, so a page of 50 patients compiled, sent and planned
300 parameters. PostgreSQL reads an array in one. Registered in `tsn.apps`."""

from django.db.models import ForeignObject, IntegerField, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, [int(value) for value in self.rhs]]


def register() -> None:
    IntegerField.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
