"""manage.py demo_totp: the current TOTP code of the demo accounts with a second factor, as
an authenticator application holding the demo key would show it."""

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from pathways.demo.accounts import DEMO_ACCOUNTS, DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = _(
        "Affiche le code TOTP actuel des comptes de démonstration protégés par une double "
        "authentification (la clé de démonstration, publique, n'est celle d'aucun vrai compte)."
    )

    def handle(self, *args: object, **options: object) -> None:
        now = time.time()
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, int(now) // mfa_settings.TOTP_PERIOD))
        seconds_left = mfa_settings.TOTP_PERIOD - int(now) % mfa_settings.TOTP_PERIOD
        self.stdout.write(code)
        accounts = ", ".join(account.email for account in DEMO_ACCOUNTS if account.has_totp)
        self.stderr.write(
            _("%(accounts)s : valable encore %(seconds)s s (clé %(secret)s).")
            % {"accounts": accounts, "seconds": seconds_left, "secret": DEMO_TOTP_SECRET}
        )
