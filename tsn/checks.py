"""Deployment checks of TSN's own settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def security_settings(app_configs, **kwargs) -> list[Warning]:
    warnings = []
    if "locmem" in settings.CACHES["default"]["BACKEND"]:
        warnings.append(
            Warning(
                "The cache is private to each process: login throttling and the one-time "
                "use of TOTP codes do not hold across web processes.",
                hint="Set REDIS_URL.",
                id="tsn.W001",
            )
        )
    if not settings.TSN_REQUIRE_MFA:
        warnings.append(
            Warning(
                "TSN_REQUIRE_MFA is off: professional accounts may log in with a password alone.",
                hint="Unset TSN_REQUIRE_MFA (it is on by default) outside the demo.",
                id="tsn.W002",
            )
        )
    return warnings
