"""The coordinator's journey (coordination@demo.tsn.test, no second factor yet: it is set
up through the pages at the first login): the worklist, a patient opened from it, enrolled
in a pathway, a step given to a professional, an alert acknowledged, a referral sent from
the orientation tool; and the worklist used with the keyboard alone."""

import re

from django.utils import translation
from playwright.sync_api import Locator, Page, expect

from pathways.models import Alert
from professionals.models import SupportService

COORDINATOR = "coordination@demo.tsn.test"
# A GP with no patient in common with the others (README, "Demo accounts"): never the
# default assignee of a step, so giving them one shows.
OUTSIDE_GP = "medecin.externe@demo.tsn.test"


def _french(label) -> str:
    with translation.override("fr"):
        return str(label)


def _journey_patient(tab) -> dict:
    """An open alert of the coordinator's worklist about a patient they may write for, with
    a pathway template the patient does not follow and a support service covering their
    commune that has no referral of theirs under way."""
    # The worklist shows the open alerts about the patients of the pathways one is the
    # referent of (pathways/worklist.py); writing comes with a pathway followed by one's
    # service (patients/access.py). A single record without a portal account (the patient's
    # journey has its own).
    rows = tab.territory.query(
        """
        WITH me AS (
            SELECT p.id FROM professionals_professional p
            JOIN tsn_user u ON u.id = p.user_id AND u.email = %(coordinator)s
        )
        SELECT a.id, a.message, a.severity, pt.id,
            coalesce(nullif(pt.used_last_name, ''), pt.birth_last_name) || ' '
                || coalesce(nullif(pt.used_first_name, ''), split_part(pt.first_names, ' ', 1)),
            (SELECT t.id FROM pathways_pathwaytemplate t WHERE t.is_current
                AND NOT EXISTS (SELECT 1 FROM pathways_pathway pw
                    JOIN pathways_pathwaytemplate f ON f.id = pw.template_id
                    WHERE pw.patient_id = pt.id AND f.code = t.code
                    AND pw.status IN ('proposed', 'active', 'suspended'))
                ORDER BY t.name LIMIT 1),
            (SELECT s.id FROM professionals_supportservice s
                JOIN professionals_supportservice_communes c
                    ON c.supportservice_id = s.id AND c.commune_id = pt.commune_id
                WHERE s.category <> 'coordination'
                AND NOT EXISTS (SELECT 1 FROM pathways_referral r
                    WHERE r.patient_id = pt.id AND r.service_id = s.id
                    AND r.status IN ('sent', 'acknowledged', 'accepted'))
                ORDER BY s.id LIMIT 1)
        FROM pathways_alert a
        JOIN patients_patient pt ON pt.id = a.patient_id
        WHERE a.status = 'open'
        AND pt.merged_into_id IS NULL AND pt.user_id IS NULL AND pt.commune_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM pathways_pathway pw, me
            WHERE pw.patient_id = pt.id AND pw.referent_id = me.id
            AND pw.status IN ('proposed', 'active', 'suspended'))
        AND EXISTS (SELECT 1 FROM pathways_pathway pw
            JOIN professionals_supportservice_members m
                ON m.supportservice_id = pw.support_service_id
            JOIN me ON me.id = m.professional_id
            WHERE pw.patient_id = pt.id AND pw.status IN ('proposed', 'active', 'suspended'))
        AND NOT EXISTS (SELECT 1 FROM patients_consentrecord c, me
            WHERE c.patient_id = pt.id AND c.professional_id = me.id
            AND c.kind = 'professional_objection' AND c.withdrawn_at IS NULL)
        ORDER BY a.severity DESC, a.id
        """,
        {"coordinator": COORDINATOR},
    )
    rows = [row for row in rows if row[5] is not None and row[6] is not None]
    assert rows, "no alert of the coordinator's worklist fits the journey"
    alert_id, message, severity, patient_id, name, template, service_id = rows[0]
    (service_name, category, commune), *_ = tab.territory.query(
        "SELECT s.name, s.category, c.name FROM professionals_supportservice s,"
        " patients_patient p JOIN tsn_commune c ON c.id = p.commune_id"
        " WHERE s.id = %s AND p.id = %s",
        (service_id, patient_id),
    )
    (template, version, first_step), *_ = tab.territory.query(
        "SELECT t.name, t.version, st.name FROM pathways_pathwaytemplate t"
        " JOIN pathways_steptemplate st ON st.template_id = t.id"
        ' WHERE t.id = %s ORDER BY st."order" LIMIT 1',
        (template,),
    )
    return {
        "alert": alert_id,
        "message": message,
        "severity": _french(Alert.Severity(severity).label),
        "id": patient_id,
        "name": name,
        "template": template,
        "template_option": f"{template} (v{version})",
        "first_step": first_step,
        "service": service_name,
        "need": _french(SupportService.Category(category).label),
        "commune": commune,
    }


def _professional(tab, email: str) -> tuple[str, str]:
    """(first name, last name) of the account's professional."""
    return tab.territory.query(
        "SELECT p.first_name, p.last_name FROM professionals_professional p"
        " JOIN tsn_user u ON u.id = p.user_id WHERE u.email = %s",
        (email,),
    )[0]


def _message(page: Page, text: str) -> Locator:
    """The confirmation the platform shows after an action (role status)."""
    return page.get_by_role("status").filter(has_text=text)


def _alert_row(page: Page, patient: dict) -> Locator:
    return (
        page.get_by_role("row")
        .filter(has=page.get_by_role("link", name=patient["name"], exact=True))
        .filter(has_text=patient["message"])
    )


def test_the_coordinator_enrols_a_patient_acknowledges_an_alert_and_refers(journey):
    tab = journey()
    page = tab.page
    patient = _journey_patient(tab)

    # The first login sets up the second factor through the pages; then the workspace.
    tab.log_in(COORDINATOR)
    expect(page.get_by_role("heading", name="Espace coordination", level=1)).to_be_visible()
    tab.check()
    page.get_by_role("link", name="Ouvrir la liste de travail").click()
    expect(page.get_by_role("heading", name="Liste de travail", level=1)).to_be_visible()
    expect(page.get_by_test_id("work-item").first).to_be_visible()
    tab.check("worklist")

    # The alerts of the patient's severity only: the filters stay in the address.
    filters = page.get_by_role("region", name="Filtres", exact=True)
    filters.get_by_label("Nature").select_option(label="Alertes")
    filters.get_by_label("Gravité").select_option(label=patient["severity"])
    filters.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"/coordination/\?.*kind=alert"))
    items = page.get_by_test_id("work-item")
    expect(items.first).to_be_visible()
    for item in items.all():
        expect(item).to_have_attribute("data-kind", "alert")
        expect(item.get_by_role("cell").nth(1)).to_have_text(patient["severity"])
    row = _alert_row(page, patient)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ouverte")
    tab.check()

    # The patient's record, opened from the worklist.
    row.get_by_role("link", name=patient["name"], exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient['id']}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(patient["name"])
    expect(page.get_by_role("heading", name="Fil du patient")).to_be_visible()
    tab.check()

    # Enrolled in a pathway: proposed, then active once the patient is informed.
    page.get_by_role("navigation", name="Rubriques du dossier").get_by_role(
        "link", name="Parcours", exact=True
    ).click()
    enrolment = page.get_by_role("region", name="Inclure dans un parcours")
    expect(enrolment).to_be_visible()
    tab.check()
    enrolment.get_by_role("combobox", name="Parcours", exact=True).select_option(
        label=patient["template_option"]
    )
    enrolment.get_by_role("button", name="Proposer le parcours").click()
    expect(_message(page, "Parcours proposé")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient["template"])
    expect(page.get_by_test_id("pathway-status")).to_have_text("Proposé")
    steps = page.get_by_test_id("step")
    expect(steps.first).to_be_visible()
    tab.check()
    informed = page.get_by_label("Le patient a reçu l'information sur le partage de ses données")
    if informed.count():
        informed.check()
    page.get_by_role("button", name="Activer le parcours").click()
    expect(_message(page, "Parcours « Actif »")).to_be_visible()
    expect(page.get_by_test_id("pathway-status")).to_have_text("Actif")
    expect(page.get_by_test_id("transition").first).to_contain_text("Actif")
    tab.check()

    # Its first step, given to a professional found in the directory.
    first_name, last_name = _professional(tab, OUTSIDE_GP)
    step_row = steps.filter(has_text=patient["first_step"])
    expect(step_row).not_to_contain_text(f"{first_name} {last_name}")
    step_row.get_by_role("link", name=f"Agir : {patient['first_step']}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient["first_step"])
    tab.check()
    assign = page.get_by_role("region", name="Confier l'étape")
    assign.get_by_label("Rechercher dans l'annuaire").fill(last_name)
    found = re.compile(rf"^{re.escape(last_name)} {re.escape(first_name)} — Médecin")
    assign.get_by_role("radio", name=found).check()
    tab.check()
    assign.get_by_role("button", name="Confier").click()
    expect(_message(page, "L'étape est mise à jour.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient["template"])
    expect(steps.filter(has_text=patient["first_step"]).get_by_role("cell").nth(4)).to_have_text(
        f"{first_name} {last_name}"
    )
    tab.check()

    # Back to the worklist, filtered again: the alert ticked and acknowledged.
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Liste de travail"
    ).click()
    expect(page.get_by_role("heading", name="Liste de travail", level=1)).to_be_visible()
    filters.get_by_label("Nature").select_option(label="Alertes")
    filters.get_by_label("Gravité").select_option(label=patient["severity"])
    filters.get_by_role("button", name="Filtrer").click()
    row = _alert_row(page, patient)
    row.get_by_role("checkbox", name=f"Sélectionner : {patient['message']}").check()
    page.get_by_role("button", name="Prendre en compte").click()
    expect(_message(page, "1 alerte prise en compte.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=alert"))
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").last).to_have_text("Prise en compte")
    expect(row.get_by_role("checkbox")).not_to_be_checked()
    tab.check()

    # The orientation from the record: the services covering the patient's commune for the
    # need ticked, and the referral sent to one of them.
    row.get_by_role("link", name=patient["name"], exact=True).click()
    page.get_by_role("navigation", name="Rubriques du dossier").get_by_role(
        "link", name="Orientation"
    ).click()
    expect(page.get_by_role("heading", name="Orientation", level=1)).to_be_visible()
    expect(page.get_by_label("Commune du domicile")).not_to_have_value("")
    tab.check()
    page.get_by_role("checkbox", name=patient["need"], exact=True).check()
    page.get_by_role("button", name="Chercher").click()
    expect(page.get_by_role("heading", name=re.compile(r"^\d+ services? pour "))).to_contain_text(
        patient["commune"]
    )
    service = page.get_by_test_id("service").filter(
        has=page.get_by_role("heading", name=patient["service"])
    )
    expect(service).to_have_count(1)
    reason = service.get_by_label("Motif de la demande")
    expect(reason).to_have_value(re.compile(r"^Besoins repérés : "))
    need = patient["need"]
    expect(reason).to_have_value(re.compile(re.escape(need[:1].lower() + need[1:])))
    tab.check()
    service.get_by_role("button", name="Adresser le patient").click()
    expect(_message(page, f"Demande envoyée à {patient['service']}")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/patients/{patient['id']}/demandes"))
    sent = page.get_by_test_id("referral").filter(
        has=page.get_by_role("heading", name=patient["service"])
    )
    expect(sent.first).to_contain_text("par {} {}".format(*_professional(tab, COORDINATOR)))
    expect(sent.first).to_contain_text("Besoins repérés : ")
    tab.check()


def _focus(page: Page) -> dict:
    """What the focused element is, and whether its focus shows."""
    return page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            const row = element.closest("[data-worklist-item]");
            return {
                tag: element.tagName.toLowerCase(),
                text: element.textContent.trim(),
                href: element.getAttribute("href"),
                in_row: row !== null,
                is_row: element === row,
                in_filters: element.closest("[data-worklist-filters]") !== null,
                type: element.getAttribute("type"),
                visible: (style.outlineStyle !== "none" && style.outlineWidth !== "0px")
                    || style.boxShadow !== "none",
            };
        }"""
    )


def _tab_until(page: Page, reached, *, backwards: bool = False, limit: int = 800) -> dict:
    """Press Tab (Shift+Tab) until `reached(focus)`; every element on the way shows its
    focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focus = _focus(page)
        assert focus["visible"], f"focus not visible on {focus}"
        if reached(focus):
            return focus
    raise AssertionError(f"not reached in {limit} presses")


def test_the_worklist_with_the_keyboard_alone(journey):
    tab = journey()
    page = tab.page
    tab.log_in(COORDINATOR)
    tab.go("/coordination/")
    expect(page.get_by_role("heading", name="Liste de travail", level=1)).to_be_visible()
    expect(page.get_by_test_id("work-item").first).to_be_visible()

    # Every field of the page has a name (the ticks of the lines and the filters alike).
    for field in page.locator("main").locator("input:not([type=hidden]), select, textarea").all():
        expect(field).to_have_accessible_name(re.compile(r"\S"))

    # The filters, after the list, are reached with Tab, one after the other, by their label.
    focused = page.locator(":focus")
    _tab_until(page, lambda focus: focus["in_filters"])
    for label in ("Nature", "Gravité", "Parcours", "En retard seulement"):
        expect(focused).to_have_accessible_name(label)
        _tab_until(page, lambda focus: True)
    expect(focused).to_have_role("button")
    expect(focused).to_have_accessible_name("Filtrer")
    # Back to the box "late only", ticked, and the filter applied with Enter.
    _tab_until(page, lambda focus: focus["type"] == "checkbox", backwards=True)
    expect(focused).to_have_accessible_name("En retard seulement")
    page.keyboard.press("Space")
    expect(focused).to_be_checked()
    _tab_until(page, lambda focus: focus["tag"] == "button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/coordination/\?.*overdue=on"))
    items = page.get_by_test_id("work-item")
    expect(items.first).to_be_visible()
    expect(items).to_have_count(items.get_by_test_id("overdue").count())
    tab.check()

    # From the top of the page: the first line of the list, then its patient, opened with
    # Enter.
    filtered = page.url
    row = _tab_until(page, lambda focus: focus["is_row"])
    assert row["tag"] == "tr"
    link = _tab_until(page, lambda focus: focus["in_row"] and focus["tag"] == "a")
    assert re.fullmatch(r"/patients/\d+/", link["href"]), link
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(link["href"]) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(link["text"])
    tab.check()

    # Back on the list, Enter on a line opens what it is about (the step or the alert).
    page.goto(filtered)
    expect(page.get_by_role("heading", name="Liste de travail", level=1)).to_be_visible()
    _tab_until(page, lambda focus: focus["is_row"])
    target = page.locator(":focus [data-worklist-open]").get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    tab.check()
