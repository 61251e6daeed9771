"""URLs of pathways, care plans, referrals, tele-expertise and the coordinator's pages
(namespace "pathways").

Every route with a patient `pk` is patient-scoped: its view calls
`patients.access.get_patient_for` first, and tests/patients/test_access_matrix.py lists
it with the expected answer for every persona. Other objects in a patient-scoped URL are
looked up within that patient.
"""

from django.urls import path

app_name = "pathways"

urlpatterns = [
    # Pathways and steps (pathways/views/pathway.py).
    # Care plans (pathways/views/care_plan.py).
    # Referrals and tele-expertise (pathways/views/referral.py, tele_expertise.py).
    # The professional's calendar feed (pathways/views/calendar.py).
    # The coordinator's worklist, caseload and data quality (pathways/views/worklist.py).
]
