"""Settings come from the environment; a malformed value stops start-up, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tsn import environment

ROOT = Path(__file__).resolve().parents[2]
# Points at no real server: importing settings must not connect to it.
OFFLINE_DATABASE = "postgresql://tsn:secret@db.invalid:5432/tsn"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL"}}
    full_env.update({"DATABASE_URL": OFFLINE_DATABASE, **env})
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("HTTPS", "2"),
        ("CONN_MAX_AGE", "ten"),
        ("DATABASE_URL", "mysql://root@localhost/tsn"),
        ("DATABASE_URL", "postgresql://tsn@localhost:notaport/tsn"),
        ("REDIS_URL", "http://localhost:6379"),
        ("EMAIL_PORT", "smtp"),
    ],
)
def test_malformed_variable_stops_startup_naming_it(variable, value):
    env = {"EMAIL_HOST": "smtp.example.test"} if variable == "EMAIL_PORT" else {}
    result = run_manage("check", **{variable: value}, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_well_formed_environment_passes_check():
    result = run_manage("check", DEBUG="0", CONN_MAX_AGE="60")
    assert result.returncode == 0, result.stderr


PRODUCTION = {
    "SECRET_KEY": "x" * 20 + "production-grade-secret-key-0123456789abcdef",
    "ALLOWED_HOSTS": "tsn.example.fr",
    "HTTPS": "1",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_HOST": "smtp.example.test",
}


def test_production_variables_pass_deploy_checks():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_checks_fail_without_https():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="x" * 20 + "production-grade-secret-key-0123456789abcdef",
        ALLOWED_HOSTS="tsn.example.fr",
    )
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"REDIS_URL": ""}, "tsn.W001"),  # throttling counted per process
        ({"TSN_REQUIRE_MFA": "0"}, "tsn.W002"),
    ],
)
def test_deploy_checks_warn_about_weakened_authentication(change, warning):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr
    assert "tsn.W00" not in run_manage("check", "--deploy", **PRODUCTION).stderr


def test_debug_is_off_unless_set(settings):
    assert settings.DEBUG is False


def test_language_and_time_zone(settings):
    assert settings.LANGUAGE_CODE == "fr"
    assert [code for code, _ in settings.LANGUAGES] == ["fr", "en"]
    assert settings.TIME_ZONE == "Europe/Paris"
    assert settings.USE_TZ is True


def test_database_is_postgresql_with_persistent_connections(settings):
    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["CONN_MAX_AGE"] > 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "postgresql://u:p%40ss@db:5433/tsn",
            {"NAME": "tsn", "USER": "u", "PASSWORD": "p@ss", "HOST": "db", "PORT": "5433"},
        ),
        (
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/tsn",
            {"NAME": "tsn", "USER": "u", "PASSWORD": "", "HOST": "/var/run/postgresql", "PORT": ""},
        ),
    ],
)
def test_database_url_parsing(monkeypatch, raw, expected):
    monkeypatch.setenv("X_DB", raw)
    assert environment.env_database_url("X_DB") == expected


@pytest.mark.parametrize(
    "keys",
    [
        {"NAME": "tsn", "USER": "u", "PASSWORD": "p@ss/word", "HOST": "db", "PORT": "5433"},
        {"NAME": "tsn", "USER": "postgres", "PASSWORD": "", "HOST": "/work/var/pg", "PORT": ""},
    ],
)
def test_database_url_round_trip(monkeypatch, keys):
    monkeypatch.setenv("X_DB", environment.database_url(keys))
    assert environment.env_database_url("X_DB") == keys


def test_database_url_without_name_is_refused(monkeypatch):
    monkeypatch.setenv("X_DB", "postgresql://u@db:5432/")
    with pytest.raises(ImproperlyConfigured, match="X_DB"):
        environment.env_database_url("X_DB")


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)]
)
def test_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert environment.env_bool("X_FLAG", not expected) is expected


def test_lists(monkeypatch):
    monkeypatch.setenv("X_HOSTS", " a.fr, b.fr ,,")
    assert environment.env_list("X_HOSTS") == ["a.fr", "b.fr"]
