"""The web shell and the landing page of each role, tested through HTTP."""

import datetime
import html
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import Alert, Pathway, PathwayTemplate, Step, StepTemplate
from patients.models import CareTeamMember
from professionals.models import PractitionerRole, Professional, SupportService
from tsn.models import AuditEvent, Territory, User

TODAY = timezone.localdate()
LAST_WEEK = TODAY - datetime.timedelta(days=7)
NEXT_WEEK = TODAY + datetime.timedelta(days=7)

FIGURE = re.compile(
    r'<span class="tsn-figure-value tsn-count">(.*?)</span>\s*'
    r'<span class="tsn-figure-label">(.*?)</span>',
    re.S,
)
TABLE_ROW = re.compile(
    r'<th scope="row" class="fw-normal">(.*?)</th>\s*<td class="text-end tsn-count">(.*?)</td>',
    re.S,
)


def figures(response) -> dict[str, str]:
    """The key figures of a page, by label."""
    content = response.content.decode()
    return {html.unescape(label): html.unescape(value) for value, label in FIGURE.findall(content)}


def table_rows(response) -> dict[str, str]:
    """The (label, count) rows of a page's tables."""
    content = response.content.decode()
    return {
        html.unescape(label): html.unescape(value) for label, value in TABLE_ROW.findall(content)
    }


def log_in(client, user: User):
    """Sign in through the real login form; return the page it lands on."""
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": settings.TSN_DEMO_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[0] == (reverse("home"), 302)
    assert response.status_code == 200
    return response


def count_queries(client, url: str = "/") -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def assert_same_queries_with_more_rows(client, limit: int, add_rows, url: str = "/") -> None:
    """The page costs at most ``limit`` queries, and no more once ``add_rows()`` ran."""
    before = count_queries(client, url)
    assert before <= limit
    add_rows()
    assert count_queries(client, url) == before


@pytest.fixture
def pathway_template(db) -> PathwayTemplate:
    template = PathwayTemplate.objects.create(code="ic", name="Insuffisance cardiaque")
    for order, name in enumerate(["Visite à domicile", "Consultation du médecin traitant"], 1):
        StepTemplate.objects.create(
            template=template,
            order=order,
            name=name,
            responsible_profession=Professional.Profession.NURSE,
            deadline_days=7 * order,
        )
    return template


@pytest.fixture
def make_pathway(make_patient, pathway_template):
    def make(status: str = Pathway.Status.ACTIVE, **fields) -> Pathway:
        fields.setdefault("patient", make_patient())
        fields.setdefault("template", pathway_template)
        if status in (Pathway.Status.COMPLETED, Pathway.Status.EXITED):
            fields.setdefault("ended_on", TODAY)
        return Pathway.objects.create(status=status, **fields)

    return make


def make_step(pathway: Pathway, order: int = 1, **fields) -> Step:
    template_step = pathway.template.steps.get(order=order)
    return Step.objects.create(pathway=pathway, template_step=template_step, **fields)


def make_alert(patient, status: str = Alert.Status.OPEN) -> Alert:
    return Alert.objects.create(
        patient=patient,
        kind=Alert.Kind.STEP_OVERDUE,
        message="Étape en retard",
        status=status,
        dedupe_key=f"test-{patient.pk}-{status}",
    )


# --- The shell --------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_page(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/"


def test_login_page_is_french_and_protected_by_a_csp_nonce(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    content = response.content.decode()
    assert '<html lang="fr"' in content
    assert "Connexion" in content
    assert "Mot de passe oublié" in content
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script[^>]*>", content)
    assert scripts
    assert all(f'nonce="{nonce}"' in script for script in scripts)
    assert "style=" not in content


def test_wrong_password_is_refused_without_echoing_it(client, make_user):
    user = make_user()
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "not-the-password-42"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "alert-danger" in content
    assert "not-the-password-42" not in content
    assert client.get("/").status_code == 302


def test_language_switch_works_before_login(client, db):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("account_login")}
    )
    assert response.status_code == 302
    content = client.get(reverse("account_login")).content.decode()
    assert '<html lang="en"' in content
    assert "Sign In" in content


def test_language_switch_to_english_and_back(client, make_user):
    client.force_login(make_user(role=User.Role.ARS_ANALYST))
    page = client.get("/").content.decode()
    assert '<html lang="fr"' in page
    assert 'action="/i18n/setlang/"' in page

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response["Location"] == "/"
    page = client.get("/").content.decode()
    assert '<html lang="en"' in page
    assert "Territory indicators" in page
    assert '<span lang="fr">Français</span>' in page

    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    page = client.get("/").content.decode()
    assert '<html lang="fr"' in page
    assert "Indicateurs du territoire" in page


def test_logout_is_a_post_from_every_page(client, make_user):
    client.force_login(make_user())
    page = client.get("/").content.decode()
    assert f'<form method="post" action="{reverse("account_logout")}"' in page
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def assert_in_site_layout(response) -> None:
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="navigation-principale"' in content
    assert '<main id="contenu"' in content
    assert "style=" not in content


def test_public_account_pages_share_the_site_layout(client, db):
    for name in ("account_login", "account_reset_password"):
        assert_in_site_layout(client.get(reverse(name)))


def test_account_pages_share_the_site_layout(client, make_user):
    client.force_login(make_user())
    for name in (
        "account_change_password",
        "account_logout",
        "mfa_index",
        "mfa_activate_totp",  # asks to confirm the password first
        "mfa_generate_recovery_codes",
    ):
        assert_in_site_layout(client.get(reverse(name), follow=True))


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (
            User.Role.COORDINATOR,
            [
                "Accueil",
                "Liste de travail",
                "File active",
                "Demandes reçues",
                "Patients",
                "Annuaire",
                "Orientation",
            ],
        ),
        (
            User.Role.PROFESSIONAL,
            ["Accueil", "Mes patients", "Annuaire", "Orientation", "Télé-expertise", "Agenda"],
        ),
        (User.Role.ARS_ANALYST, ["Indicateurs", "Rapports d'évaluation"]),
        (
            User.Role.ADMINISTRATOR,
            [
                "Accueil",
                "Doublons",
                "Traçabilité",
                "Envois en échec",
                "Flux hospitalier",
                "Rapports d'évaluation",
                "Administration",
            ],
        ),
        (User.Role.PATIENT, ["Mon dossier"]),
    ],
)
def test_navigation_by_role_has_no_dead_link(client, make_user, make_professional, role, links):
    if role == User.Role.COORDINATOR:  # a coordinator's account is a professional's
        user = make_professional(Professional.Profession.COORDINATOR).user
    elif role == User.Role.PROFESSIONAL:
        user = make_professional().user
    else:
        user = make_user(role=role, is_staff=role == User.Role.ADMINISTRATOR)
    client.force_login(user)
    # Patients land on their portal, whose layout has no main menu: the menu is on the
    # pages they share with everyone (their account's).
    page = reverse("usersessions_list") if role == User.Role.PATIENT else "/"
    content = client.get(page).content.decode()
    nav = content.split('<ul class="navbar-nav', 1)[1].split("</ul>", 1)[0]
    labels = re.findall(r'<a class="nav-link[^"]*" href="([^"]+)"[^>]*>(.*?)</a>', nav)
    assert [html.unescape(label) for _url, label in labels] == links
    for url, _label in labels:
        assert client.get(url).status_code == 200


# --- Coordinator ------------------------------------------------------------------------------


@pytest.fixture
def coordinator_caseload(make_professional, make_pathway, organization):
    """A coordinator referent of 2 active, 1 suspended and 1 completed pathway."""
    coordinator = make_professional(Professional.Profession.COORDINATOR)
    colleague = make_professional(Professional.Profession.COORDINATOR)
    service = SupportService.objects.create(
        organization=organization,
        name="DAC Rhône-Est",
        category=SupportService.Category.COORDINATION,
    )
    service.members.add(coordinator)
    first = make_pathway(referent=coordinator)
    second = make_pathway(referent=coordinator)
    make_pathway(Pathway.Status.SUSPENDED, referent=coordinator)
    completed = make_pathway(Pathway.Status.COMPLETED, referent=coordinator)
    others = make_pathway(referent=colleague)
    make_step(first, 1, due_on=LAST_WEEK)  # overdue
    make_step(first, 2, due_on=NEXT_WEEK)
    make_step(second, 1, due_on=LAST_WEEK, status=Step.Status.SKIPPED)
    make_step(completed, 1, due_on=LAST_WEEK)  # left over in a closed pathway
    make_step(others, 1, due_on=LAST_WEEK)  # someone else's
    make_alert(first.patient)
    make_alert(second.patient, Alert.Status.RESOLVED)
    make_alert(others.patient)
    return coordinator


def test_coordinator_lands_on_the_coordination_space(client, coordinator_caseload):
    response = log_in(client, coordinator_caseload.user)
    content = response.content.decode()
    assert "Espace coordination" in content
    assert "DAC Rhône-Est" in content
    assert figures(response) == {
        "Parcours actifs dont vous êtes référent·e": "2",
        "Alertes ouvertes sur vos patients suivis": "1",
        "Étapes en retard dans vos parcours": "1",
    }
    assert table_rows(response) == {
        "Proposé": "0",
        "Actif": "2",
        "Suspendu": "1",
        "Terminé": "1",
        "Sortie du parcours": "0",
    }
    assert "DUPONT" not in content  # aggregates only, no patient names yet


def test_coordinator_without_directory_entry_gets_a_message(client, make_user):
    client.force_login(make_user(role=User.Role.COORDINATOR))
    response = client.get("/")
    assert "aucune fiche professionnelle" in response.content.decode()


def test_coordinator_page_queries_do_not_grow(
    client, django_assert_max_num_queries, coordinator_caseload, make_pathway, organization
):
    def add_rows():
        for _ in range(3):
            pathway = make_pathway(referent=coordinator_caseload)
            make_step(pathway, 1, due_on=LAST_WEEK)
            make_alert(pathway.patient)
            SupportService.objects.create(
                organization=organization, name="Autre", category=SupportService.Category.MEALS
            ).members.add(coordinator_caseload)

    client.force_login(coordinator_caseload.user)
    # Session, user, professional, unread mentions, services, pathways by status, alerts,
    # overdue steps, this quarter's satisfaction questionnaire answered (its reminder).
    with django_assert_max_num_queries(9):
        client.get("/")
    assert_same_queries_with_more_rows(client, 9, add_rows)


# --- Professional -----------------------------------------------------------------------------


@pytest.fixture
def physician(make_professional, make_patient, make_pathway, organization):
    """A GP of 1 patient, in 2 active care teams (and 1 ended), with 2 open steps (1 late)."""
    gp = make_professional(specialty="Médecine générale")
    PractitionerRole.objects.create(professional=gp, organization=organization, function="Associé")
    make_patient(gp=gp)
    for end in (None, NEXT_WEEK, LAST_WEEK):
        CareTeamMember.objects.create(
            patient=make_patient(),
            professional=gp,
            role=CareTeamMember.Role.GP,
            start=TODAY - datetime.timedelta(days=30),
            end=end,
        )
    pathway = make_pathway()
    make_step(pathway, 1, assignee=gp, due_on=LAST_WEEK)
    make_step(pathway, 2, assignee=gp, due_on=NEXT_WEEK)
    make_step(make_pathway(), 1, assignee=gp, status=Step.Status.SKIPPED)
    return gp


def test_professional_lands_on_their_space(client, physician):
    response = log_in(client, physician.user)
    content = response.content.decode()
    assert "Mon espace" in content
    assert physician.rpps in content
    assert "Cabinet des Lilas" in content
    assert "Médecine générale" in content
    assert figures(response) == {
        "Patients dont vous êtes membre de l'équipe de soins": "2",
        "Patients dont vous êtes le médecin traitant": "1",
        "Étapes de parcours qui vous sont confiées": "2",
        "Étapes confiées en retard": "1",
    }


def test_nurse_has_no_gp_figure(client, make_professional):
    nurse = make_professional(Professional.Profession.NURSE)
    client.force_login(nurse.user)
    assert "Patients dont vous êtes le médecin traitant" not in figures(client.get("/"))


def test_professional_page_queries_do_not_grow(
    client, django_assert_max_num_queries, physician, make_patient, make_pathway, organization
):
    def add_rows():
        for _ in range(3):
            CareTeamMember.objects.create(
                patient=make_patient(gp=physician), professional=physician, role="gp"
            )
            make_step(make_pathway(), 1, assignee=physician)
        PractitionerRole.objects.create(professional=physician, organization=organization)

    client.force_login(physician.user)
    # Session, user, professional, roles, unread mentions, care-team patients, GP patients,
    # steps, this quarter's satisfaction questionnaire answered (its reminder).
    with django_assert_max_num_queries(9):
        client.get("/")
    assert_same_queries_with_more_rows(client, 9, add_rows)


# --- ARS analyst ------------------------------------------------------------------------------


@pytest.fixture
def territory_with_pathways(db, make_pathway, pathway_template) -> Territory:
    """6 active heart-failure pathways, 3 proposed diabetes ones, none suspended."""
    diabetes = PathwayTemplate.objects.create(code="diabete", name="Diabète de type 2")
    for _ in range(6):
        make_pathway()
    for _ in range(3):
        make_pathway(Pathway.Status.PROPOSED, template=diabetes)
    return Territory.objects.create(
        name="Rhône-Est", ars_region="Auvergne-Rhône-Alpes", departement_codes=["69"]
    )


def test_ars_analyst_sees_masked_indicators(client, make_user, territory_with_pathways):
    response = log_in(client, make_user(role=User.Role.ARS_ANALYST))
    content = response.content.decode()
    assert "Indicateurs du territoire" in content
    assert "Rhône-Est" in content
    assert figures(response) == {"Patients suivis dans un parcours actif": "6"}
    assert table_rows(response) == {
        "Insuffisance cardiaque": "6",
        "Diabète de type 2": "< 5",
        "Proposé": "< 5",
        "Actif": "6",
        "Suspendu": "0",
        "Terminé": "0",
        "Sortie du parcours": "0",
    }
    assert "DUPONT" not in content


def test_ars_page_counts_all_versions_of_a_template_together(
    client, make_user, make_pathway, pathway_template
):
    pathway_template.is_current = False
    pathway_template.save(update_fields=["is_current"])
    new_version = PathwayTemplate.objects.create(
        code="ic", version=2, name="Insuffisance cardiaque (2026)"
    )
    for template in [pathway_template] * 3 + [new_version] * 2:
        make_pathway(template=template)
    client.force_login(make_user(role=User.Role.ARS_ANALYST))
    assert table_rows(client.get("/"))["Insuffisance cardiaque (2026)"] == "5"


def test_ars_page_queries_do_not_grow(
    client, django_assert_max_num_queries, make_user, territory_with_pathways, make_pathway
):
    def add_rows():
        for code in ("bpco", "palliatif"):
            make_pathway(template=PathwayTemplate.objects.create(code=code, name=code))

    client.force_login(make_user(role=User.Role.ARS_ANALYST))
    # Session, user, territory, patients followed, pathways by template, template names,
    # by status.
    with django_assert_max_num_queries(7):
        client.get("/")
    assert_same_queries_with_more_rows(client, 8, add_rows)


# --- Administrator ----------------------------------------------------------------------------


def test_administrator_lands_on_territory_administration(
    client, make_user, make_professional, make_patient, organization
):
    admin = make_user(role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    make_professional()  # and its account
    make_professional(with_user=False)
    make_patient()
    make_user(role=User.Role.PATIENT, is_active=False)
    response = log_in(client, admin)
    content = response.content.decode()
    assert "Administration du territoire" in content
    assert figures(response) == {
        "Comptes actifs": "2",
        "Organisations": "1",
        "Professionnels": "2",
        "Patients": "1",
    }
    rows = table_rows(response)
    assert rows["Administrateur·rice du territoire"] == "1"
    assert rows["Professionnel·le de santé ou du social"] == "1"
    assert rows["Patient·e ou aidant·e"] == "0"
    assert f'href="{reverse("admin:index")}"' in content


def test_administrator_without_staff_access_gets_no_admin_link(client, make_user):
    client.force_login(make_user(role=User.Role.ADMINISTRATOR))
    content = client.get("/").content.decode()
    assert reverse("admin:index") not in content
    assert "pas accès à l'interface d'administration" in html.unescape(content)


def test_administrator_page_queries_do_not_grow(
    client, django_assert_max_num_queries, make_user, make_patient
):
    def add_rows():
        make_patient()
        make_user(role=User.Role.COORDINATOR)

    client.force_login(make_user(role=User.Role.ADMINISTRATOR, is_staff=True))
    # Session, user, users by role, territory, organisations, professionals, patients.
    with django_assert_max_num_queries(7):
        client.get("/")
    assert_same_queries_with_more_rows(client, 8, add_rows)


# --- Patient ----------------------------------------------------------------------------------


@pytest.fixture
def patient_user(make_user, make_patient, make_professional, make_pathway):
    """A patient with a GP, a nurse in the care team (a former one too), one active pathway."""
    user = make_user(role=User.Role.PATIENT)
    gp = make_professional(last_name="Bernard", first_name="Luc")
    patient = make_patient(
        user=user,
        birth_last_name="LEROY",
        first_names="Jeanne Marie",
        used_last_name="MOREAU",
        gp=gp,
    )
    nurse = make_professional(Professional.Profession.NURSE, last_name="Petit", first_name="Anne")
    former = make_professional(Professional.Profession.NURSE, last_name="Ancien", first_name="Paul")
    CareTeamMember.objects.create(patient=patient, professional=nurse, role="nurse")
    CareTeamMember.objects.create(
        patient=patient,
        professional=former,
        role="nurse",
        start=TODAY - datetime.timedelta(days=60),
        end=LAST_WEEK,
    )
    coordinator = make_professional(
        Professional.Profession.COORDINATOR, last_name="Roux", first_name="Claire"
    )
    make_pathway(patient=patient, referent=coordinator)
    diabetes = PathwayTemplate.objects.create(code="diabete", name="Diabète de type 2")
    make_pathway(Pathway.Status.COMPLETED, patient=patient, template=diabetes)
    return user


def test_patient_lands_on_their_portal_and_the_read_is_audited(client, patient_user):
    response = log_in(client, patient_user)
    assert response.request["PATH_INFO"] == reverse(
        "portal:home", kwargs={"pk": patient_user.patient.pk}
    )
    content = response.content.decode()
    assert "LEROY" in content
    assert "MOREAU" in content
    assert "Jeanne Marie" in content
    assert "8 mai 1945" in content
    assert "Luc Bernard" in content
    assert "Anne Petit" in content
    assert "Paul Ancien" not in content  # left the care team
    assert "Insuffisance cardiaque" in content
    assert "Claire Roux" in content
    assert "Diabète" not in content  # completed
    event = AuditEvent.objects.get()
    assert event.actor == patient_user
    assert event.actor_role == User.Role.PATIENT
    assert event.action == AuditEvent.Action.READ
    assert event.object_type == "patient"
    assert event.patient_id == patient_user.patient.pk
    assert event.object_id == str(patient_user.patient.pk)
    assert event.client_ip == "127.0.0.1"


def test_patient_account_without_record_gets_a_polite_message(client, make_user):
    client.force_login(make_user(role=User.Role.PATIENT))
    response = client.get("/", follow=True)
    assert "pas encore relié à un dossier" in html.unescape(response.content.decode())
    assert not AuditEvent.objects.exists()


def test_patient_page_queries_do_not_grow(
    client, django_assert_max_num_queries, patient_user, make_professional, make_pathway
):
    patient = patient_user.patient

    def add_rows():
        for _ in range(3):
            CareTeamMember.objects.create(
                patient=patient, professional=make_professional(), role="specialist"
            )
        make_pathway(patient=patient)

    client.force_login(patient_user)
    home = reverse("portal:home", kwargs={"pk": patient.pk})
    # Session, user, patient and GP (access check), audit event, care team, pathways and
    # their coming steps, care plan, shared news.
    with django_assert_max_num_queries(9):
        client.get(home)
    assert_same_queries_with_more_rows(client, 9, add_rows, home)


# --- Every page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", User.Role.values)
def test_pages_obey_the_content_security_policy(client, make_user, role):
    client.force_login(make_user(role=role))
    response = client.get("/", follow=True)  # patients: to their portal
    content = response.content.decode()
    assert "style=" not in content
    assert "<style" not in content
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script[^>]*>", content))
    assert 'name="htmx-config"' in content
    assert "htmx-2.min.js" in content
