from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TsnConfig(AppConfig):
    name = "tsn"
    verbose_name = _("Plateforme et territoire")

    def ready(self) -> None:
        from tsn import checks, lookups, sessions  # noqa: F401 (checks and signals register)

        lookups.register()
