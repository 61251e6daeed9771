"""The patient's journey on the portal: their record, their shared news and care plan, and
"download all my data" prepared by the real worker."""

import re
import zipfile

from playwright.sync_api import expect


def test_the_patient_sees_their_record_and_downloads_all_their_data(journey, tmp_path):
    patient = journey()
    patient.log_in("patient@demo.tsn.test")
    page = patient.page
    expect(page).to_have_url(re.compile(r"/portail/\d+/$"))
    expect(page.get_by_role("heading", name="Équipe de soins")).to_be_visible()
    patient.check("portail-patient")

    page.get_by_role("link", name="Plan de soins", exact=True).click()
    expect(page.get_by_role("heading", name="Ce que nous visons ensemble")).to_be_visible()
    patient.check()
    page.go_back()
    page.get_by_role("link", name="Fil de suivi", exact=True).click()
    expect(page.get_by_role("heading", name="Fil de suivi", level=1)).to_be_visible()
    patient.check()
    page.go_back()

    page.get_by_role("link", name="Télécharger toutes mes données").click()
    page.get_by_role("button", name="Préparer l'archive").click()
    # The progress bar, then the link once the worker has built the archive.
    download_link = page.get_by_role("link", name="Télécharger l'archive (zip)")
    expect(download_link).to_be_visible(timeout=90_000)
    patient.check()
    with page.expect_download() as download:
        download_link.click()
    archive = tmp_path / "archive.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert "synthese.pdf" in names and "fhir-bundle.json" in names
    assert "timeline.csv" in names and "access_log.csv" in names
