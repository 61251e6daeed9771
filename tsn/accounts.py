"""User accounts: the allauth adapter (accounts are created by an administrator or by
invitation, never by sign-up) and figures about accounts."""

from allauth.account.adapter import DefaultAccountAdapter
from django.db.models import Count
from django.http import HttpRequest

from tsn.models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


def count_active_users_by_role() -> list[tuple[str, int]]:
    """(role label, number of active accounts) for every role, in the roles' order."""
    counts = dict(
        User.objects.filter(is_active=True).values_list("role").annotate(n=Count("id")).order_by()
    )
    return [(label, counts.get(role, 0)) for role, label in User.Role.choices]
