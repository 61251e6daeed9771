"""Change history (django-pghistory): identity, care team and consent, with the acting user."""

from django.urls import reverse

from patients.models import CareTeamMember, ConsentRecord, Patient
from professionals.models import Professional


def test_a_care_team_change_through_the_page_keeps_who_made_it(client, world, make_professional):
    nurse = make_professional(Professional.Profession.NURSE)
    gp = world.users["team_member"]
    client.force_login(gp)
    response = client.post(
        reverse("patients:care_team_add", kwargs={"pk": world.patient.pk}),
        {"member-professional": nurse.pk, "member-role": "nurse"},
    )
    assert response.status_code == 302
    member = world.patient.care_team.get(professional=nurse)
    event = CareTeamMember.pgh_event_model.objects.get(pgh_obj=member)
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["user"] == gp.pk


def test_an_objection_recorded_through_the_page_is_in_the_history(client, world):
    gp = world.users["team_member"]
    outsider = world.users["outsider"].professional
    client.force_login(gp)
    client.post(
        reverse("patients:objection_add", kwargs={"pk": world.patient.pk}),
        {"objection-professional": outsider.pk, "objection-note": "Souhait du patient."},
    )
    consent = ConsentRecord.objects.get(professional=outsider)
    history = ConsentRecord.pgh_event_model.objects.filter(pgh_obj=consent)
    assert [e.pgh_label for e in history] == ["insert"]
    assert history[0].pgh_context.metadata["user"] == gp.pk


def test_identity_changes_are_kept_with_the_previous_values_in_order(world):
    patient = world.patient
    original = patient.birth_last_name
    events = Patient.pgh_event_model.objects.filter(pgh_obj=patient)
    already = events.count()  # the fixture linked the patient's account
    patient.change_strict_traits(birth_last_name="DURAND")
    patient.save(update_fields=["birth_last_name", "identity_status"])
    patient.phone = "04 78 00 00 00"
    patient.save(update_fields=["phone"])
    names = list(events.order_by("pgh_id").values_list("birth_last_name", "phone")[already:])
    assert names == [("DURAND", ""), ("DURAND", "04 78 00 00 00")]
    assert original != "DURAND"
