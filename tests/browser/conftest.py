"""Browser journeys (issue 12; README, "Tried in a real browser"): Debian's Chromium, driven
by Playwright, against TSN running as in production: gunicorn, a real Celery worker and its
broker, a database of its own seeded with the demo territory, the second factor required,
the Content-Security-Policy on.

Every page a journey looks at goes through `Journey.check`: no serious or critical
axe-core finding (RGAA builds on WCAG 2.1 AA), and, over the whole journey, no CSP
violation, no JavaScript error. With TSN_SCREENSHOTS set to a folder (`make screenshots`:
docs/screenshots), the journeys write the README's screenshots there.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from pathways.demo.accounts import DEMO_TOTP_SECRET
from tests.totp import totp
from tests.worker import ROOT, Broker, free_port, start_worker, stop_worker, wait_until
from tsn.environment import database_url

CHROMIUM = os.environ.get("TSN_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "tsn-demo-2026"  # the demo accounts' public password
SCREENSHOTS = os.environ.get("TSN_SCREENSHOTS", "")
# The impacts axe-core reports (minor, moderate, serious, critical) that fail a page.
FAILING_IMPACTS = {"serious", "critical"}
CSP_MARK = "Content Security Policy"

expect.set_options(timeout=20_000)


@dataclass
class Territory:
    """The live platform: its address, its database (for the journeys' lookups), and the
    TOTP keys of the accounts a journey gave a second factor."""

    url: str
    database: dict
    worker: subprocess.Popen
    totp_secrets: dict[str, str] = field(
        default_factory=lambda: {"medecin@demo.tsn.test": DEMO_TOTP_SECRET}
    )
    used_codes: set[tuple[str, str]] = field(default_factory=set)

    @contextlib.contextmanager
    def worker_paused(self):
        """The worker frozen for the block (a busy worker): what it would do waits, so that
        a page shows a task in progress whatever the machine's speed."""
        self.worker.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.worker.send_signal(signal.SIGCONT)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with _connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()

    def code_for(self, email: str) -> str:
        """The account's current TOTP code; a code is accepted once, so a second login in
        the same 30 seconds waits for the next one."""
        secret = self.totp_secrets[email]

        def fresh() -> bool:  # unused, and 5 seconds at least before the next one
            now = time.time()
            return 30 - now % 30 >= 5 and (email, totp(secret, now)) not in self.used_codes

        assert wait_until(fresh, timeout=40)
        code = totp(secret)
        self.used_codes.add((email, code))
        return code


def _connect(keys: dict, **options) -> psycopg.Connection:
    return psycopg.connect(
        dbname=keys["NAME"],
        user=keys["USER"],
        password=keys["PASSWORD"] or None,
        host=keys["HOST"],
        port=keys["PORT"] or None,
        **options,
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our server)
            return response.status == 200
    except OSError:
        return False


def _run(arguments: list[str], env: dict) -> None:
    done = subprocess.run(  # noqa: S603 (our own arguments)
        [sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="package")
def territory(tmp_path_factory):
    """TSN live on a free port: gunicorn and a Celery worker on a database of their own
    (`<test database>_browser`, on the server of the tests), migrated and seeded with the
    demo territory (seed_demo --scale 0.01)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    keys = {key: database[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}
    keys["NAME"] = f"{database['TEST']['NAME'] or 'test_' + database['NAME']}_browser"
    with _connect(keys | {"NAME": "postgres"}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{keys["NAME"]}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{keys["NAME"]}"')

    folder = tmp_path_factory.mktemp("territory")
    broker = Broker(folder)
    broker.start()
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        "DATABASE_URL": database_url(keys),
        "MEDIA_ROOT": str(folder / "media"),
        "DEBUG": "0",
        "TSN_REQUIRE_MFA": "1",
        "TSN_BASE_URL": url,
        "TSN_DEMO_PASSWORD": PASSWORD,
    }
    full_env = {**os.environ, **broker.worker_env(), **env}
    _run(["manage.py", "migrate", "--noinput"], full_env)
    _run(["manage.py", "seed_demo", "--scale", "0.01"], full_env)
    worker = start_worker(broker, **env)
    address = url.removeprefix("http://")
    server = subprocess.Popen(  # noqa: S603 (our own arguments)
        [sys.executable, "-m", "gunicorn", "tsn.wsgi", "--workers=2", "--threads=4", "-b", address],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(lambda: _answers(f"{url}/comptes/login/"), timeout=60)
        yield Territory(url=url, database=keys, worker=worker)
    finally:
        server.terminate()
        server_output, _ = server.communicate(timeout=30)
        worker_output = stop_worker(worker)
        broker.close()
        with _connect(keys | {"NAME": "postgres"}, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{keys["NAME"]}" WITH (FORCE)')
    assert "Traceback" not in worker_output, worker_output
    assert "Traceback" not in server_output, server_output


@pytest.fixture(scope="package")
def browser(territory):
    """Chromium, for this package's tests only: Playwright's event loop would stop Django's
    database calls in the tests that come after (SynchronousOnlyOperation)."""
    assert Path(CHROMIUM).exists(), (
        f"The browser journeys need Chromium at {CHROMIUM}: apt-get install chromium (Debian), "
        "or set TSN_CHROMIUM to another Chromium."
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # As root in a container: no sandbox; and no calls home.
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


class Journey:
    """One user's browser tab on the live territory, and the checks every page passes."""

    def __init__(self, browser: Browser, territory: Territory, screenshots: Path) -> None:
        self.territory = territory
        self.context = browser.new_context(
            locale="fr-FR",
            timezone_id="Europe/Paris",
            viewport={"width": 1280, "height": 860},
            accept_downloads=True,
        )
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript: {error}"))
        self.screenshots = screenshots
        self.axe = Axe()

    def _console(self, message) -> None:
        if CSP_MARK in message.text or message.type == "error":
            self.problems.append(f"console {message.type}: {message.text}")

    def go(self, path: str) -> None:
        self.page.goto(self.territory.url + path)

    def go_not_found(self, path: str) -> None:
        """Open `path`, expecting the not-found page: its 404 is the one console error
        allowed (Chromium logs a page's own error status)."""
        response = self.page.goto(self.territory.url + path)
        assert response is not None and response.status == 404
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
        logged = [problem for problem in self.problems if "status of 404" in problem]
        assert len(logged) == 1, self.problems
        self.problems.remove(logged[0])

    def check(self, screenshot: str = "") -> None:
        """The page as it is now: no serious or critical accessibility finding; no CSP
        violation nor JavaScript error so far; `screenshot` names its picture."""
        self.page.wait_for_load_state("networkidle")
        results = self.axe.run(self.page).response
        failing = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(node["target"][0] for node in violation["nodes"][:5])
            for violation in results["violations"]
            if violation["impact"] in FAILING_IMPACTS
        ]
        assert failing == [], f"{self.page.url}\n" + "\n".join(failing)
        assert self.problems == [], "\n".join(self.problems)
        if screenshot:
            top = {"x": 0, "y": 0, "width": 1280, "height": 1500}  # (a long page's top)
            self.page.screenshot(
                path=self.screenshots / f"{screenshot}.png", full_page=True, clip=top
            )

    def log_in(self, email: str) -> None:
        """The login page, and the second factor: its code when the account has one, else
        the TOTP set up as the platform requires (the key is kept for later logins)."""
        self.go("/comptes/login/")
        self.page.get_by_label("Courriel").fill(email)
        self.page.get_by_label("Mot de passe").fill(PASSWORD)
        self.page.get_by_role("button", name="Connexion", exact=True).click()
        self.page.wait_for_url(lambda url: not url.endswith("/comptes/login/"))
        if email in self.territory.totp_secrets:
            code = self.page.get_by_label("Code", exact=True)
            expect(code).to_be_visible()
            code.fill(self.territory.code_for(email))  # (computed once the field is there)
            self.page.get_by_role("button", name="Connexion", exact=True).click()
        elif "/2fa/" in self.page.url:
            self._set_up_totp(email)
        expect(self.page.get_by_role("button", name="Se déconnecter")).to_be_visible()

    def _set_up_totp(self, email: str) -> None:
        """As the platform asks an account without a second factor: "Activer" an
        authenticator application, the password again, then the first code."""
        page = self.page
        expect(page.get_by_text("protégé par une double authentification")).to_be_visible()
        page.get_by_role("link", name="Activer").first.click()
        if "/reauthenticate/" in page.url:
            page.get_by_label("Mot de passe").fill(PASSWORD)
            page.get_by_role("button", name="Confirmer").click()
        secret = page.locator("#authenticator_secret").input_value()
        self.territory.totp_secrets[email] = secret
        page.get_by_label("Code de l'authentificateur").fill(self.territory.code_for(email))
        page.get_by_role("button", name="Activer").click()
        expect(page.get_by_text("Application d'authentification activée")).to_be_visible()
        self.go("/")  # where a login leads

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def journey(territory, browser, tmp_path):
    """A new browser tab for one user (cookies of its own)."""
    screenshots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    screenshots.mkdir(parents=True, exist_ok=True)
    opened: list[Journey] = []

    def open_tab() -> Journey:
        tab = Journey(browser, territory, screenshots)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
