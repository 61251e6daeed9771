"""Typed readers for environment variables: a malformed value stops start-up, naming it."""

import os
from urllib.parse import quote, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}"
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database_url(name: str) -> dict[str, str] | None:
    """Parse postgres://user:password@host:port/dbname into Django's DATABASES keys."""
    raw = os.environ.get(name)
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"{name} must look like postgresql://user:password@host:5432/dbname, got {raw!r}"
        )
    try:
        port = str(parts.port or "")
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {raw!r}") from None
    return {
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": port,
    }


def env_redis_url(name: str) -> str:
    raw = os.environ.get(name, "")
    if raw and urlsplit(raw).scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(f"{name} must start with redis:// or rediss://, got {raw!r}")
    return raw


def database_url(connection_keys: dict) -> str:
    """The DATABASE_URL that points another process (worker, gunicorn) at this database."""
    host = quote(connection_keys["HOST"] or "", safe="")
    return (
        f"postgresql://{quote(connection_keys['USER'] or '', safe='')}"
        f":{quote(connection_keys['PASSWORD'] or '', safe='')}"
        f"@{host}:{connection_keys['PORT'] or ''}/{connection_keys['NAME']}"
    )
