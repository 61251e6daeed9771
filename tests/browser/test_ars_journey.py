"""The ARS analyst's journey: the annual evaluation report asked for, built by the real
worker while the page shows its progress, and downloaded as a PDF."""

import io
import shutil
import subprocess

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import SCREENSHOTS


def test_the_analyst_builds_the_annual_report_and_downloads_the_pdf(journey, tmp_path):
    analyst = journey()
    analyst.log_in("ars@demo.tsn.test")
    page = analyst.page
    page.get_by_role("link", name="Rapports d'évaluation (PDF, CSV)").click()
    expect(page.get_by_role("heading", name="Rapports d'évaluation", level=1)).to_be_visible()
    analyst.check()

    with analyst.territory.worker_paused():
        # The last calendar year, the whole territory: the form's defaults.
        page.get_by_role("button", name="Construire le rapport").click()
        row = page.get_by_test_id("report").first
        expect(row.get_by_test_id("report-progress")).to_be_visible()
        expect(row).to_contain_text("Territoire entier")
    pdf_link = row.get_by_role("link", name="PDF")
    expect(pdf_link).to_be_visible(timeout=120_000)
    expect(row.get_by_test_id("report-progress")).to_have_count(0)
    analyst.check("evaluation-reports")

    with page.expect_download() as download:
        pdf_link.click()
    path = tmp_path / "rapport.pdf"
    download.value.save_as(path)
    content = path.read_bytes()
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    first_pages = " ".join(page.extract_text() for page in reader.pages[:2])
    assert "Rapport d'évaluation" in first_pages
    if SCREENSHOTS:  # the README's picture of a report page (poppler-utils' pdftoppm)
        pdftoppm = shutil.which("pdftoppm")
        assert pdftoppm, "make screenshots needs pdftoppm (apt-get install poppler-utils)"
        picture = f"{SCREENSHOTS}/evaluation-report-summary"  # (pdftoppm adds .png)
        arguments = ["-png", "-r", "80", "-f", "2", "-l", "2", "-singlefile", str(path), picture]
        subprocess.run([pdftoppm, *arguments], check=True)  # noqa: S603 (our own arguments)
