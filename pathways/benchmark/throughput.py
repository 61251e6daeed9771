"""Throughput mode: gunicorn (2 workers) on loopback under a bounded wrk load.

The page and its floor view are loaded one after the other with the same settings, so
the requests per second of both are comparable. wrk is Debian's `wrk` package.
"""

import os
import re
import shutil
import socket
import subprocess  # runs gunicorn and wrk, fixed arguments  # nosec B404
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

from tsn.environment import database_url

ROOT = Path(settings.BASE_DIR)


@dataclass
class Load:
    url: str
    requests_per_second: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:  # noqa: S310 - our local server  # nosec B310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, cookie: str, seconds: int, connections: int) -> Load:
    output = subprocess.run(  # noqa: S603 - fixed program and arguments  # nosec B603
        [
            shutil.which("wrk") or "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = _milliseconds(re.search(r"\s99%\s+(\S+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Load(url=url, requests_per_second=rps, p99_ms=round(p99, 2), errors=errors)


def available() -> bool:
    return shutil.which("wrk") is not None


def run_load(
    paths: dict[str, str], cookie: str, seconds: int = 10, connections: int = 8
) -> dict[str, Load]:
    """Start gunicorn on the current database, load each path in turn, stop gunicorn."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "pathways.benchmark.settings",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - fixed program and arguments  # nosec B603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tsn.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_ready(base_url)
        return {
            name: _wrk(base_url + path, cookie, seconds, connections)
            for name, path in paths.items()
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
