"""Shared fixtures: small builders for the core objects, and one user per role."""

import datetime
import itertools
import uuid

import pytest
from django.conf import settings

from patients.models import CareTeamMember, Patient
from professionals.models import Organization, Professional
from tests.personas import objects, world  # noqa: F401 (the personas fixtures, for every app)
from tsn.identifiers import nir_key, with_luhn_key
from tsn.models import Commune, User

_sequence = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many accounts; the real hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,  # to check passwords hashed before the test (seed_demo)
    ]


@pytest.fixture(autouse=True)
def _second_factor_not_required(settings):
    """The personas log in with force_login; tests/tsn/test_mfa.py turns the requirement on."""
    settings.TSN_REQUIRE_MFA = False


@pytest.fixture
def fresh_cache(settings):
    """The configured cache (Redis in CI) under a key prefix of this test's own, so that the
    login rate limits and used TOTP codes of other tests do not count."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


@pytest.fixture
def tasks_at_commit(monkeypatch, django_capture_on_commit_callbacks):
    """The test's transaction never commits: run what waits for the commit (an eager task
    queued with delay_on_commit) when the request that queued it returns, as a real commit
    would."""
    from django.test import Client

    send = Client.request

    def request_then_commit(self, **request):
        with django_capture_on_commit_callbacks(execute=True):
            return send(self, **request)

    monkeypatch.setattr(Client, "request", request_then_commit)


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process unless a test asks for the real worker (tests/worker.py)."""
    from tsn.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture
def real_worker(settings, tmp_path):
    """A real `celery worker` process on the test database, its own broker, and the test's
    MEDIA_ROOT (tmp_path) for the files it writes (tests marked transaction=True)."""
    from tests.worker import running_worker

    settings.MEDIA_ROOT = tmp_path
    with running_worker(tmp_path, MEDIA_ROOT=str(tmp_path)) as process:
        yield process


@pytest.fixture
def make_user(db):
    def make(role: str = User.Role.PROFESSIONAL, **fields) -> User:
        n = next(_sequence)
        fields.setdefault("email", f"user{n}@test.tsn.test")
        return User.objects.create_user(password=settings.TSN_DEMO_PASSWORD, role=role, **fields)

    return make


@pytest.fixture
def commune(db) -> Commune:
    return Commune.objects.create(
        insee_code="69123",
        name="Lyon",
        postcodes=["69001", "69003"],
        latitude=45.76,
        longitude=4.84,
        population=520_000,
        sector="Lyon Centre",
    )


@pytest.fixture
def organization(commune) -> Organization:
    return Organization.objects.create(
        kind=Organization.Kind.GP_PRACTICE, name="Cabinet des Lilas", commune=commune
    )


@pytest.fixture
def make_professional(db, make_user):
    def make(
        profession: str = Professional.Profession.PHYSICIAN, *, with_user: bool = True, **fields
    ) -> Professional:
        n = next(_sequence)
        role = (
            User.Role.COORDINATOR
            if profession == Professional.Profession.COORDINATOR
            else User.Role.PROFESSIONAL
        )
        # (17…: clear of the numbers of the RPPS sample files (100…) and of the synthetic
        # extractions (19…, pathways/benchmark/rpps_file.py).)
        fields.setdefault("rpps", with_luhn_key(f"17{n:08d}"))
        fields.setdefault("last_name", f"Martin{n}")
        fields.setdefault("first_name", "Claire")
        user = make_user(role=role) if with_user else None
        return Professional.objects.create(profession=profession, user=user, **fields)

    return make


def valid_nir(first_13: str = "2850569123045") -> str:
    return first_13 + nir_key(first_13)


@pytest.fixture
def make_patient(db, commune):
    def make(**fields) -> Patient:
        n = next(_sequence)
        fields.setdefault("birth_last_name", f"DUPONT{n}")
        fields.setdefault("first_names", "Marie Louise")
        fields.setdefault("birth_date", datetime.date(1945, 5, 8))
        fields.setdefault("sex", Patient.Sex.FEMALE)
        fields.setdefault("commune", commune)
        return Patient.objects.create(**fields)

    return make


@pytest.fixture
def care_team_member(make_patient, make_professional) -> CareTeamMember:
    """A GP in the care team of a patient."""
    gp = make_professional()
    patient = make_patient(gp=gp)
    return CareTeamMember.objects.create(
        patient=patient, professional=gp, role=CareTeamMember.Role.GP
    )
