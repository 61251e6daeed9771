import pytest
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone

from patients.models import TimelineEvent
from tsn.models import AuditEvent, User


def test_email_is_the_login_and_is_normalised(make_user):
    user = User.objects.create_user(
        "Jeanne.Roux@Exemple.FR", "pw-0123456789", role=User.Role.ARS_ANALYST
    )
    assert user.email == "jeanne.roux@exemple.fr"
    assert user.get_username() == "jeanne.roux@exemple.fr"


def test_superuser_is_a_territory_administrator(db):
    admin = User.objects.create_superuser("root@tsn.test", "pw-0123456789")
    assert admin.role == User.Role.ADMINISTRATOR
    assert admin.is_staff and admin.is_superuser


@pytest.mark.parametrize(
    ("role", "clinical"),
    [
        (User.Role.COORDINATOR, True),
        (User.Role.PROFESSIONAL, True),
        (User.Role.ARS_ANALYST, False),
        (User.Role.ADMINISTRATOR, False),
        (User.Role.PATIENT, False),
    ],
)
def test_clinical_roles(make_user, role, clinical):
    assert make_user(role=role).is_clinical is clinical


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def audit_event(make_user) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=make_user(), action=AuditEvent.Action.READ, object_type="patient", patient_id=1
    )


@pytest.fixture
def timeline_event(make_patient) -> TimelineEvent:
    return TimelineEvent.objects.create(
        patient=make_patient(),
        occurred_at=timezone.now(),
        kind=TimelineEvent.Kind.NOTE,
        title="Appel de la fille de la patiente",
    )


@pytest.mark.parametrize(
    ("fixture", "table"),
    [("audit_event", "tsn_auditevent"), ("timeline_event", "patients_timelineevent")],
)
def test_raw_sql_cannot_update_or_delete_append_only_rows(request, fixture, table):
    row = request.getfixturevalue(fixture)
    with pytest.raises(ProgrammingError, match="Cannot update or delete"):
        _raw(f"UPDATE {table} SET occurred_at = now() WHERE id = %s", [row.pk])  # noqa: S608
    with pytest.raises(ProgrammingError, match="Cannot update or delete"):
        _raw(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
    assert type(row).objects.filter(pk=row.pk, occurred_at=row.occurred_at).exists()
