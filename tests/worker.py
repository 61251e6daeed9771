"""Real processes for tests that claim to test them: a Celery worker on the test database,
its broker (a private Redis server when the suite runs against Redis, as in CI, else the
filesystem broker of the demo), and an SMTP server that records what it receives."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import kombu.pools
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from tsn.celery import app
from tsn.environment import database_url

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll a condition another process makes true; gives up after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """Where this test's tasks go: its own Redis server (killable) or broker folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.uses_redis = bool(settings.REDIS_URL)
        self.folder = tmp_path / "broker"
        self.port = free_port()
        self.redis: subprocess.Popen | None = None
        self._previous = (app.conf.broker_url, app.conf.broker_transport_options)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0" if self.uses_redis else "filesystem://"

    def worker_env(self) -> dict[str, str]:
        if self.uses_redis:
            return {"REDIS_URL": self.url}
        return {"REDIS_URL": "", "CELERY_BROKER_DIR": str(self.folder)}

    def start(self) -> None:
        """Start the broker empty (again, after `stop`), and point this process at it."""
        if self.uses_redis:
            server = shutil.which("redis-server")
            assert server, "the suite runs against Redis (REDIS_URL): redis-server is needed"
            self.redis = subprocess.Popen(  # noqa: S603 (our own arguments)
                [
                    server,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
            )
            assert wait_until(self._redis_answers, timeout=10)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._point_here(self.folder)

    def stop(self) -> None:
        """A broker outage: Redis killed (its queue lost), or the broker folder gone."""
        if self.uses_redis:
            assert self.redis is not None
            self.redis.kill()
            self.redis.wait()
        else:
            shutil.rmtree(self.folder)
            self._point_here(self.folder)

    def close(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()
        app.conf.broker_url, app.conf.broker_transport_options = self._previous
        self._reset_producers()

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _point_here(self, folder: Path) -> None:
        app.conf.broker_url = self.url
        if not self.uses_redis:
            app.conf.broker_transport_options = {
                **(self._previous[1] or {}),
                "data_folder_in": str(folder),
                "data_folder_out": str(folder),
                "control_folder": str(folder / "control"),
            }
        self._reset_producers()

    @staticmethod
    def _reset_producers() -> None:
        # Celery caches connections and producers: drop them so the new broker applies.
        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None


def start_worker(broker: Broker, **env: str) -> subprocess.Popen:
    """A `celery worker` process on the test database and the test's broker."""
    process_env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        **broker.worker_env(),
        **env,
    }
    arguments = ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(  # noqa: S603 (our own arguments)
        [sys.executable, "-m", "celery", "-A", "tsn", "worker", *arguments, "--loglevel=WARNING"],
        cwd=ROOT,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(process: subprocess.Popen) -> str:
    """Stop the worker (if still running) and return what it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


@contextlib.contextmanager
def running_worker(tmp_path: Path, **env: str):
    """A broker of its own and a `celery worker` on it for the block (tasks leave this
    process instead of running eagerly); the test fails if the worker printed a traceback."""
    broker = Broker(tmp_path)
    broker.start()
    app.conf.task_always_eager = False
    process = start_worker(broker, **env)
    try:
        yield process
    finally:
        output = stop_worker(process)
        broker.close()
    assert "Traceback" not in output, output


@dataclass
class MailServer:
    """A real SMTP server on loopback that keeps the messages it accepted. With `hold`
    set, the first recipient command waits until `release` is set: a send in progress."""

    hold: bool = False
    messages: list[bytes] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold and not self.holding.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        ids = []
        for content in self.messages:
            for line in content.decode().splitlines():
                if line.lower().startswith("message-id:"):
                    ids.append(line.split(":", 1)[1].strip())
        return ids

    def env(self) -> dict[str, str]:
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "0"}


def start_mail_server(hold: bool = False) -> tuple[MailServer, Controller]:
    server = MailServer(hold=hold, port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    return server, controller
