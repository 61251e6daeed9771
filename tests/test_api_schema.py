"""The REST API against its own OpenAPI schema (Schemathesis): generated requests, as each
main role, on a seeded record; no server error, no answer outside the schema (status,
content type, headers, body), authentication never ignored."""

import zlib

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tsn.models import ApiToken
from tsn.wsgi import application

# What the API promises (a lenient reading of optional query parameters, as forms do, is
# not a failure: the negative-data check is left out).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]
ROLES = ["team_member", "coordinator_following", "read_only_member", "ars_analyst", "the_patient"]

# A path parameter of the seeded record (the rest are generated: mostly 404s).
SEEDED = {
    "document_id": "document_pk",
    "pathway_id": "pathway_pk",
    "step_id": "step_pk",
    "referral_id": "referral_pk",
}


# Read from the application itself, in-process (the schema view touches no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _one_transaction_per_test(db):
    """As Django's test client does: the test's transaction outlives each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def role_keys(world) -> dict[str, str]:
    return {role: ApiToken.issue(user=world.users[role], name="t")[1] for role in ROLES}


@schema.parametrize()
@hypothesis.settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_the_api_keeps_to_its_schema(case, world, objects, role_keys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cache.clear()  # throttling quotas are not what is tested here
    if case.path_parameters:
        # Half the requests on the seeded record, so that answers with data are checked too.
        seeded = {"patient_id": world.patient.pk} | {
            name: objects[key] for name, key in SEEDED.items()
        }
        for name in case.path_parameters:
            if name in seeded and zlib.crc32(repr(case.query).encode()) % 2 == 0:
                case.path_parameters[name] = seeded[name]
    keys = list(role_keys.values())
    if case.meta is not None and case.meta.phase.name == TestPhase.COVERAGE:
        # The coverage phase enumerates every case the schema defines (a hundred and more per
        # operation): each goes as one role, the roles taking turns, not as all five.
        keys = [keys[zlib.crc32(case.as_curl_command().encode()) % len(keys)]]
    for key in keys:
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
