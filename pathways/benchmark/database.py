"""The benchmark's own database: a territory at a given scale, built once and reused."""

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from pathways.demo import seed_demo
from tsn import embedded_db
from tsn.models import Territory


def database_name(scale: float) -> str:
    """e.g. tsn_bench_1, tsn_bench_0_01: one database per scale, beside the main one."""
    base = settings.DATABASES["default"]["NAME"]
    return f"{base}_bench_{format(scale, 'g').replace('.', '_')}"


def _metadata_file(name: str) -> Path:
    return settings.VAR_DIR / "bench" / f"{name}.json"


def use_bench_database(scale: float, log) -> dict:
    """Switch this process to the bench database of `scale`, building it if needed.

    Returns what is known of its build ({"seed_seconds": ..., "built_at": ...}).
    """
    name = database_name(scale)
    keys = {**settings.DATABASES["default"], "NAME": name}
    embedded_db.ensure_database(keys)
    connection.close()
    connection.settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name
    call_command("migrate", verbosity=0, interactive=False)
    metadata_file = _metadata_file(name)
    if Territory.objects.exists() and metadata_file.exists():
        log(f"Reusing {name} (scale {scale:g}).")
        return json.loads(metadata_file.read_text())
    log(f"Building {name} at scale {scale:g}…")
    start = time.perf_counter()
    seed_demo(scale=scale, reset=Territory.objects.exists(), log=log)
    metadata = {
        "seed_seconds": round(time.perf_counter() - start, 1),
        "built_at": time.strftime("%Y-%m-%d %H:%M"),
    }
    metadata_file.parent.mkdir(parents=True, exist_ok=True)
    metadata_file.write_text(json.dumps(metadata))
    return metadata
