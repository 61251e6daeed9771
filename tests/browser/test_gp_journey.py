"""The GP's journey (medecin@demo.tsn.test, second factor on): a patient's record and its
timeline (filters, "load more", a note), the care plan validated and downloaded as a PDF,
a record outside the care team (not found, then break-the-glass); and the timeline used
with the keyboard alone."""

import re
import uuid
from io import BytesIO

from django.utils import translation
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from patients.models import TimelineEvent
from patients.views.record import PAGE_SIZE  # the timeline's events a page (50)

GP = "medecin@demo.tsn.test"


def _kind_label(kind: str) -> str:
    with translation.override("fr"):
        return str(TimelineEvent.Kind(kind).label)


def _events(page: Page):
    """The events of the timeline shown, newest first."""
    return page.get_by_role("region", name="Fil du patient").get_by_role("listitem")


def _event_ids(page: Page) -> list[int]:
    """The ids of the events shown, in their order (each event's anchor: evenement-<id>)."""
    anchors = _events(page).evaluate_all("events => events.map(event => event.id)")
    return [int(anchor.removeprefix("evenement-")) for anchor in anchors]


def _newest_ids(tab, patient_id: int, count: int, kind: str = "") -> list[int]:
    """The ids of the patient's `count` newest events (of `kind`), newest first."""
    rows = tab.territory.query(
        "SELECT id FROM patients_timelineevent WHERE patient_id = %s AND kind LIKE %s"
        " ORDER BY occurred_at DESC, id DESC LIMIT %s",
        (patient_id, kind or "%", count),
    )
    return [pk for (pk,) in rows]


def _gp_journey_patient(tab) -> tuple[int, str, int, int]:
    """A patient of the GP with more than a page of events and a care plan whose current
    version awaits the GP's validation: (id, last name, number of events, version)."""
    # The GP may change the record: an active, not read-only member of the care team, to
    # whom the patient has not objected. A single record (no duplicate merged into it), no
    # portal account (the patient's journey has its own), no event dated after now (a new
    # note goes on top).
    rows = tab.territory.query(
        """
        SELECT p.id, coalesce(nullif(p.used_last_name, ''), p.birth_last_name),
            (SELECT count(*) FROM patients_timelineevent e WHERE e.patient_id = p.id) AS events,
            cp.current_version
        FROM patients_patient p
        JOIN professionals_professional g ON g.id = p.gp_id
        JOIN tsn_user u ON u.id = g.user_id AND u.email = %(gp)s
        JOIN pathways_careplan cp ON cp.patient_id = p.id
        JOIN pathways_careplanversion v
            ON v.care_plan_id = cp.id AND v.number = cp.current_version AND v.validated_at IS NULL
        WHERE p.merged_into_id IS NULL AND p.user_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM patients_patient d WHERE d.merged_into_id = p.id)
        AND EXISTS (SELECT 1 FROM patients_careteammember m
            WHERE m.patient_id = p.id AND m.professional_id = g.id AND NOT m.read_only
            AND m.start <= CURRENT_DATE AND (m."end" IS NULL OR m."end" > CURRENT_DATE))
        AND NOT EXISTS (SELECT 1 FROM patients_consentrecord c
            WHERE c.patient_id = p.id AND c.professional_id = g.id
            AND c.kind = 'professional_objection' AND c.withdrawn_at IS NULL)
        AND NOT EXISTS (SELECT 1 FROM patients_timelineevent e
            WHERE e.patient_id = p.id AND e.occurred_at > now())
        AND (SELECT count(*) FROM patients_timelineevent e WHERE e.patient_id = p.id) > %(more)s
        ORDER BY p.id LIMIT 1
        """,
        {"gp": GP, "more": PAGE_SIZE},
    )
    assert rows, "the demo territory has no patient of the GP with a care plan to validate"
    return rows[0]


def _outsider(tab) -> tuple[int, str]:
    """A patient the GP may not see (patients/access.py): not their GP, never in the care
    team, not followed by nor referred to a service of theirs, no break-the-glass open."""
    rows = tab.territory.query(
        """
        SELECT p.id, coalesce(nullif(p.used_last_name, ''), p.birth_last_name)
        FROM patients_patient p, professionals_professional g
        JOIN tsn_user u ON u.id = g.user_id AND u.email = %(gp)s
        WHERE p.merged_into_id IS NULL AND p.user_id IS NULL
        AND p.gp_id IS DISTINCT FROM g.id
        AND NOT EXISTS (SELECT 1 FROM patients_careteammember m
            WHERE m.patient_id = p.id AND m.professional_id = g.id)
        AND NOT EXISTS (SELECT 1 FROM pathways_pathway pw
            JOIN professionals_supportservice_members s
                ON s.supportservice_id = pw.support_service_id
            WHERE pw.patient_id = p.id AND s.professional_id = g.id)
        AND NOT EXISTS (SELECT 1 FROM pathways_referral r
            JOIN professionals_supportservice_members s ON s.supportservice_id = r.service_id
            WHERE r.patient_id = p.id AND s.professional_id = g.id)
        AND NOT EXISTS (SELECT 1 FROM patients_breakglassaccess b
            WHERE b.patient_id = p.id AND b.user_id = u.id)
        ORDER BY p.id LIMIT 1
        """,
        {"gp": GP},
    )
    assert rows, "every demo patient is visible to the GP"
    return rows[0]


def test_the_gp_follows_a_patient_validates_the_care_plan_and_breaks_the_glass(journey, tmp_path):
    tab = journey()
    page = tab.page
    patient_id, last_name, event_count, version = _gp_journey_patient(tab)
    tab.log_in(GP)
    tab.check()

    # The patient file: the identity band, and the first page of the timeline.
    tab.go(f"/patients/{patient_id}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(last_name)
    expect(page.get_by_role("heading", name="Fil du patient")).to_be_visible()
    expect(_events(page)).to_have_count(PAGE_SIZE)
    tab.check("patient-timeline")

    # Filtered by its most frequent kind: that kind only, all of it (up to a page).
    kind, of_kind = tab.territory.query(
        "SELECT kind, count(*) FROM patients_timelineevent WHERE patient_id = %s"
        " GROUP BY kind ORDER BY count(*) DESC, kind LIMIT 1",
        (patient_id,),
    )[0]
    assert of_kind < event_count
    label = _kind_label(kind)
    filters = page.get_by_role("region", name="Filtrer le fil")
    filters.get_by_label("Nature").select_option(label=label)
    filters.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(rf"[?&]kind={kind}(&|$)"))
    expect(_events(page)).to_have_count(min(of_kind, PAGE_SIZE))
    expect(_events(page).filter(has_not_text=f" · {label}")).to_have_count(0)
    assert _event_ids(page) == _newest_ids(tab, patient_id, PAGE_SIZE, kind)
    expect(filters.get_by_label("Nature")).to_have_value(kind)
    tab.check()
    filters.get_by_role("link", name="Tout afficher").click()
    expect(_events(page)).to_have_count(PAGE_SIZE)

    # "Charger plus": the next 50 (older) events come after the first 50, the address stays.
    assert _event_ids(page) == _newest_ids(tab, patient_id, PAGE_SIZE)
    address = page.url
    page.get_by_role("link", name="Charger plus").click()
    expect(_events(page)).to_have_count(min(event_count, 2 * PAGE_SIZE))
    assert _event_ids(page) == _newest_ids(tab, patient_id, 2 * PAGE_SIZE)
    assert page.url == address
    tab.check()

    # A note: it opens the timeline, signed by the GP.
    title = f"Note du médecin traitant {uuid.uuid4().hex[:8]}"
    writing = page.get_by_role("region", name="Ajouter au fil")
    note = _kind_label(TimelineEvent.Kind.NOTE)
    writing.get_by_label("Nature").select_option(label=note)
    writing.get_by_label("Titre").fill(title)
    writing.get_by_label("Contenu").fill("Patient revu ce jour, traitement inchangé.")
    writing.get_by_role("button", name="Ajouter").click()
    expect(page.get_by_role("status")).to_have_text("L'événement a été ajouté au fil du patient.")
    first = _events(page).first
    expect(first).to_contain_text(title)
    expect(first).to_contain_text(f" · {note}")
    expect(first).to_contain_text("Claire Dubreuil")
    expect(first).to_contain_text("Patient revu ce jour, traitement inchangé.")
    tab.check()

    # The care plan (PPCS): the current version awaits the GP, who validates it.
    page.get_by_role("navigation", name="Rubriques du dossier").get_by_role(
        "link", name="PPCS"
    ).click()
    expect(
        page.get_by_role("heading", name="Plan personnalisé de coordination en santé")
    ).to_be_visible()
    expect(page.get_by_text("En attente de validation par le médecin traitant.")).to_be_visible()
    tab.check()
    page.get_by_role("button", name=f"Valider la version {version}").click()
    expect(page.get_by_role("status")).to_have_text("Vous avez validé le PPCS.")
    expect(page.get_by_text(re.compile(r"Validée par .*Dubreuil le"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Valider la version"))).to_have_count(0)
    history = page.get_by_role("complementary").get_by_role("listitem")
    expect(history.filter(has_text=f"Version {version} ")).to_contain_text("validée")
    tab.check("care-plan")

    # The PDF of the version validated.
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le PDF").click()
    assert download.value.suggested_filename == f"ppcs-{patient_id}-v{version}.pdf"
    pdf = tmp_path / "ppcs.pdf"
    download.value.save_as(pdf)
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF")
    text = " ".join(sheet.extract_text() for sheet in PdfReader(BytesIO(content)).pages)
    assert last_name in text and "Validée par" in text, text[:500]

    # The validation is in the timeline too, on top.
    page.get_by_role("link", name="Retour au dossier").click()
    expect(_events(page).first).to_contain_text(
        f"PPCS validé par le médecin traitant (version {version})"
    )

    # A patient outside the GP's care team: "not found", as for a record that does not exist.
    outsider_id, outsider_name = _outsider(tab)
    tab.go_not_found(f"/patients/{outsider_id}/")
    expect(page.get_by_text("Cette page n'existe pas, ou vous n'y avez pas accès.")).to_be_visible()
    expect(page.get_by_role("link", name="Retour à l'accueil")).to_be_visible()
    expect(page.get_by_text(outsider_name)).to_have_count(0)
    tab.check()

    # Break-the-glass: a justification (a too short one is held back), then the record.
    tab.go(f"/patients/{outsider_id}/bris-de-glace/")
    expect(page.get_by_role("heading", name="Accès exceptionnel à un dossier")).to_be_visible()
    tab.check()
    reason = page.get_by_label("Justification")
    reason.fill("Urgence")
    page.get_by_role("button", name="Ouvrir le dossier pour 4 heures").click()
    # The browser holds the form back (minlength): no record yet.
    assert reason.evaluate("element => element.validity.tooShort")
    expect(page).to_have_url(re.compile(rf"/patients/{outsider_id}/bris-de-glace/$"))
    page.get_by_label("Justification").fill(
        "Appel du SAMU : personne inconsciente à domicile, traitements en cours à connaître."
    )
    page.get_by_role("button", name="Ouvrir le dossier pour 4 heures").click()
    expect(page).to_have_url(re.compile(rf"/patients/{outsider_id}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(outsider_name)
    expect(page.get_by_role("heading", name="Fil du patient")).to_be_visible()
    # Reading only: break-the-glass gives no right to write in the record.
    expect(page.get_by_role("region", name="Ajouter au fil")).to_have_count(0)
    tab.check()


def _focused(page: Page) -> dict:
    """What has the keyboard focus: its tag, accessible text, and focus indicator."""
    return page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            const label = element.labels && element.labels.length
                ? element.labels[0].textContent : "";
            return {
                tag: element.tagName.toLowerCase(),
                text: (element.innerText || element.value || "").trim(),
                label: label.replace("*", "").trim(),
                outline: style.outlineStyle === "none" || style.outlineWidth === "0px"
                    ? "none" : style.outlineStyle + " " + style.outlineWidth,
                shadow: style.boxShadow,
            };
        }"""
    )


def _tab_to(page: Page, wanted, *, limit: int = 200) -> dict:
    """Press Tab until `wanted(focused)` holds; the focused element is then returned."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if wanted(focused):
            return focused
    raise AssertionError("not reached with the Tab key")


def _shows_focus(focused: dict) -> bool:
    return focused["outline"] != "none" or focused["shadow"] not in ("none", "")


def test_the_timeline_is_used_with_the_keyboard_alone(journey):
    tab = journey()
    page = tab.page
    # A patient in the GP's care team with more than a page of events of one kind.
    patient_id, kind, of_kind = tab.territory.query(
        """
        SELECT e.patient_id, e.kind, count(*) FROM patients_timelineevent e
        JOIN patients_patient p ON p.id = e.patient_id
        WHERE p.merged_into_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM patients_patient d WHERE d.merged_into_id = p.id)
        AND EXISTS (
            SELECT 1 FROM patients_careteammember m
            JOIN professionals_professional g ON g.id = m.professional_id
            JOIN tsn_user u ON u.id = g.user_id AND u.email = %(gp)s
            WHERE m.patient_id = p.id AND m.start <= CURRENT_DATE
            AND (m."end" IS NULL OR m."end" > CURRENT_DATE)
            AND NOT EXISTS (SELECT 1 FROM patients_consentrecord c
                WHERE c.patient_id = p.id AND c.professional_id = g.id
                AND c.kind = 'professional_objection' AND c.withdrawn_at IS NULL))
        GROUP BY e.patient_id, e.kind HAVING count(*) > %(more)s
        ORDER BY e.patient_id, e.kind LIMIT 1
        """,
        {"gp": GP, "more": PAGE_SIZE},
    )[0]
    label = _kind_label(kind)
    tab.log_in(GP)
    tab.go(f"/patients/{patient_id}/")
    expect(_events(page)).to_have_count(PAGE_SIZE)

    # The skip link first, then the filter's "Nature", its kind typed, and "Filtrer".
    skip = _tab_to(page, lambda focused: True, limit=1)
    assert skip["text"] == "Aller au contenu" and _shows_focus(skip), skip
    page.keyboard.press("Enter")
    nature = _tab_to(
        page, lambda focused: focused["tag"] == "select" and focused["label"] == "Nature"
    )
    assert _shows_focus(nature), nature
    page.keyboard.type(label.split()[0])  # type-ahead: the option's first word
    expect(page.get_by_role("region", name="Filtrer le fil").get_by_label("Nature")).to_have_value(
        kind
    )
    apply = _tab_to(page, lambda focused: focused["text"] == "Filtrer")
    assert apply["tag"] == "button" and _shows_focus(apply), apply
    # Back and forth: Shift+Tab leaves the button, Tab comes back to it; Space presses it.
    page.keyboard.press("Shift+Tab")
    assert _focused(page)["text"] != "Filtrer"
    page.keyboard.press("Tab")
    assert _focused(page)["text"] == "Filtrer"
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(rf"[?&]kind={kind}(&|$)"))
    expect(_events(page)).to_have_count(PAGE_SIZE)
    expect(_events(page).filter(has_not_text=f" · {label}")).to_have_count(0)
    assert _event_ids(page) == _newest_ids(tab, patient_id, PAGE_SIZE, kind)
    tab.check()

    # "Charger plus", reached with Tab and followed with Enter: the next events of that
    # kind come in place, after the first page.
    address = page.url
    more = _tab_to(page, lambda focused: focused["text"] == "Charger plus")
    assert more["tag"] == "a" and _shows_focus(more), more
    page.keyboard.press("Enter")
    expect(_events(page)).to_have_count(min(of_kind, 2 * PAGE_SIZE))
    expect(_events(page).filter(has_not_text=f" · {label}")).to_have_count(0)
    assert _event_ids(page) == _newest_ids(tab, patient_id, 2 * PAGE_SIZE, kind)
    assert page.url == address
    # The focus went on to the first event loaded (its day's heading, or its list), not
    # back to the top of the page.
    first_loaded = _event_ids(page)[PAGE_SIZE]
    assert page.evaluate(
        """(first) => {
            const focused = document.activeElement;
            const event = document.getElementById(`evenement-${first}`);
            const list = focused.tagName === "H3" ? focused.nextElementSibling : focused;
            return list !== null && list.firstElementChild === event;
        }""",
        first_loaded,
    )
    tab.check()
