"""The evaluation report: its PDF (pathways/evaluation/report.py and
templates/pathways/evaluation/report_pdf.html), its CSV (pathways/evaluation/export.py)
and the spreadsheet-safe cells (tsn/spreadsheets.py). No database: the evaluation is
built by hand, as `compute_evaluation` would return it."""

import csv
import datetime
import io
import re

import pytest
from django.template.loader import render_to_string
from django.utils.translation import override
from pypdf import PdfReader

from pathways.evaluation.export import evaluation_csv
from pathways.evaluation.indicators import (
    MINUS,
    Breakdown,
    Evaluation,
    Family,
    Indicator,
    Row,
    Unit,
)
from pathways.evaluation.queries import EvaluationQuery
from pathways.evaluation.report import (
    CHART_ROWS,
    TEMPLATE,
    period_label,
    period_labels,
    render_report_pdf,
    report_context,
)
from tsn.disclosure import COMPLEMENTARY_MASK, MASKED_COUNT
from tsn.spreadsheets import FORMULA_PREFIXES, safe_cell

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'
SCOPE = "Parcours « Insuffisance cardiaque »"


def sample_evaluation() -> Evaluation:
    """Two periods of a calendar year, three families, masked values, a long breakdown
    (drawn in parts), a breakdown found in the CSV only, labels a user typed."""
    return Evaluation(
        query=EvaluationQuery(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)),
        scope=SCOPE,
        computed_at=datetime.datetime(2027, 1, 4, 8, 30, tzinfo=datetime.UTC),
        families=[
            Family(
                "activity",
                "Activité",
                indicators=[
                    Indicator(
                        "active_file",
                        "File active",
                        "Patients ayant au moins un parcours suivi pendant la période.",
                        Unit.COUNT,
                        1234,
                        1102,
                    ),
                    Indicator(
                        "inclusions",
                        "Nouvelles inclusions",
                        "Parcours dont la date d'inclusion tombe dans la période.",
                        Unit.COUNT,
                        MASKED_COUNT,
                        7,
                    ),
                    Indicator(
                        "active_professionals",
                        "Professionnels actifs",
                        "Professionnels ayant écrit au moins une entrée dans le fil.",
                        Unit.COUNT,
                        87,
                        None,
                    ),
                ],
                breakdowns=[
                    Breakdown(
                        "inclusions_by_pathway",
                        "Inclusions par parcours",
                        "Nouvelles inclusions, par modèle de parcours.",
                        Unit.COUNT,
                        [
                            Row("Insuffisance cardiaque", 120, 98),
                            Row(SCRIPT, MASKED_COUNT, COMPLEMENTARY_MASK),
                            Row(FORMULA, 31, None),
                        ],
                    ),
                    Breakdown(
                        "inclusions_by_commune",
                        "Inclusions par commune",
                        "Nouvelles inclusions, par commune de résidence du patient.",
                        Unit.COUNT,
                        [Row("Lyon (69123)", 52, 40), Row("Bron (69029)", MASKED_COUNT, 0)],
                        printed=False,
                    ),
                ],
            ),
            Family(
                "process",
                "Processus",
                indicators=[
                    Indicator(
                        "steps_on_time",
                        "Étapes réalisées dans les délais",
                        "Part des étapes échues pendant la période réalisées à temps.",
                        Unit.SHARE,
                        0.42,
                        0.5,
                    ),
                    Indicator(
                        "referral_first_answer_median",
                        "Délai de première réponse des services d'appui (médiane)",
                        "Temps entre l'envoi d'une demande et la première réponse du service.",
                        Unit.DAYS,
                        3.5,
                        MASKED_COUNT,
                    ),
                ],
                breakdowns=[
                    Breakdown(
                        "step_delays",
                        "Délai médian de réalisation des étapes",
                        "Jours entre l'inclusion et la réalisation, médiane par étape.",
                        Unit.DAYS,
                        [
                            Row(f"Parcours {n // 6} — étape {n}", 2.5 + n, 2.0 + n)
                            for n in range(CHART_ROWS + 5)
                        ],
                    )
                ],
            ),
            Family(
                "coordination",
                "Coordination",
                indicators=[
                    Indicator(
                        "alert_acknowledgement_median",
                        "Délai de prise en compte des alertes (médiane)",
                        "Heures entre l'alerte et sa prise en compte.",
                        Unit.HOURS,
                        5.25,
                        6.0,
                    ),
                    Indicator(
                        "professionals_per_patient",
                        "Professionnels par patient (moyenne)",
                        "Nombre moyen de membres de l'équipe de soins.",
                        Unit.MEAN,
                        4.2,
                        4.2,
                    ),
                ],
            ),
        ],
    )


def normalized(text: str) -> str:
    """Text with every run of spaces (no-break ones too) and line breaks as one space."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " ")).strip()


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return sample_evaluation()


@pytest.fixture(scope="module")
def pdf(evaluation) -> bytes:
    with override("fr"):
        return render_report_pdf(evaluation)


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    return [normalized(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def text(pages) -> str:
    return " ".join(pages)


@pytest.fixture(scope="module")
def html(evaluation) -> str:
    with override("fr"):
        return render_to_string(TEMPLATE, report_context(evaluation))


def csv_rows(evaluation: Evaluation) -> list[list[str]]:
    with override("fr"):
        data = evaluation_csv(evaluation)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


# --- The PDF ------------------------------------------------------------------------------


def test_the_report_is_a_pdf(pdf, pages, evaluation):
    assert pdf.startswith(b"%PDF")
    # The cover, the summary, one section per family (the long breakdown on more pages),
    # the definitions.
    assert len(pages) >= 1 + 1 + len(evaluation.families) + 1


def test_the_cover_gives_the_scope_the_periods_and_the_privacy_note(pages):
    cover = pages[0]
    assert "Rapport d'évaluation" in cover
    assert SCOPE in cover
    assert "du 1 janvier 2026 au 31 décembre 2026" in cover
    assert "du 1 janvier 2025 au 31 décembre 2025" in cover
    assert "4 janvier 2027 à 09:30" in cover  # computed at 8:30 UTC, Paris time
    assert (
        "Effectifs inférieurs à 5 masqués « < 5 » ; « s » : valeur masquée pour qu'une "
        "petite valeur ne puisse pas être déduite des totaux. Aucune donnée nominative."
    ) in cover


def test_every_indicator_is_printed_with_its_values(text, evaluation):
    with override("fr"):
        for indicator in evaluation.indicators:
            assert normalized(str(indicator.title)) in text
            assert normalized(indicator.current_text) in text
            assert normalized(indicator.previous_text) in text
    assert "1 234" in text
    assert "42 %" in text
    assert f"{MINUS}8 pts" in text  # the trend of a share, in points


def test_masked_values_are_printed_as_masked(text):
    assert f" {MASKED_COUNT} " in f" {text} "
    assert f" {COMPLEMENTARY_MASK} " in f" {text} "


def test_the_summary_lists_every_indicator(pages, evaluation):
    summary = pages[1]
    assert "Synthèse des indicateurs" in summary
    for indicator in evaluation.indicators:
        assert normalized(str(indicator.title)) in summary


def test_each_family_starts_a_page(pages, evaluation):
    # (The page's header and footer taken out, wherever the extraction puts them.)
    header = f"Rapport d'évaluation — {SCOPE} 2026"
    bodies = [re.sub(r"Page \d+ / \d+", "", page.replace(header, "")).strip() for page in pages[1:]]
    for family in evaluation.families:
        assert any(body.startswith(f"{family.title} Indicateur") for body in bodies)


def test_printed_breakdowns_have_a_chart_and_a_table(html, text, evaluation):
    printed = [breakdown for breakdown in evaluation.breakdowns if breakdown.printed]
    charts = html.count('class="tsn-bar-chart"')
    # The long breakdown is drawn in two parts.
    assert charts == len(printed) + 1
    assert "Partie 1 / 2" in text and "Partie 2 / 2" in text
    for breakdown in printed:
        for row in breakdown.rows:
            assert normalized(str(row.label)) in text


def test_a_breakdown_not_printed_is_named_as_in_the_csv_only(text):
    assert "Lyon (69123)" not in text
    assert "« Inclusions par commune » : trop long pour être imprimé" in text


def test_the_definitions_appendix_has_every_definition(pages, evaluation):
    start = max(i for i, page in enumerate(pages) if " Définitions Activité " in f" {page} ")
    appendix = " ".join(pages[start:])
    for indicator in evaluation.indicators:
        assert f"{normalized(indicator.title)} {normalized(indicator.definition)}" in appendix
    for breakdown in evaluation.breakdowns:
        assert normalized(str(breakdown.title)) in appendix
        assert normalized(str(breakdown.definition)) in appendix


def test_pages_after_the_cover_are_numbered_and_titled(pages):
    assert "Page" not in pages[0]
    for number, page in enumerate(pages[1:], start=2):
        assert f"Page {number} / {len(pages)}" in page
        assert f"Rapport d'évaluation — {SCOPE}" in page


def test_a_label_with_markup_is_text_never_markup(html, text):
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT in text  # printed as it was typed


# --- The labels of the periods -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31), "2026"),
        (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31), "mars 2026"),
        (datetime.date(2025, 12, 1), datetime.date(2026, 11, 30), "01/12/2025 \u2013 30/11/2026"),
        (datetime.date(2026, 1, 2), datetime.date(2026, 12, 31), "02/01/2026 \u2013 31/12/2026"),
    ],
)
def test_a_period_is_labelled_briefly(start, end, label):
    with override("fr"):
        assert period_label(start, end) == label


def test_the_comparison_period_of_whole_months_is_the_months_before():
    march = EvaluationQuery(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    ten_days = EvaluationQuery(datetime.date(2026, 3, 10), datetime.date(2026, 3, 19))
    with override("fr"):
        assert period_labels(march) == ("mars 2026", "février 2026")
        assert period_labels(ten_days)[1] == "28/02/2026 \u2013 09/03/2026"


# --- The CSV -------------------------------------------------------------------------------


def test_the_csv_is_utf8_with_a_bom_and_semicolons(evaluation):
    with override("fr"):
        data = evaluation_csv(evaluation)
    assert data.startswith(b"\xef\xbb\xbf")
    first_line = data.decode("utf-8-sig").splitlines()[0]
    assert first_line == (
        "famille;code;indicateur;unité;période;valeur;période précédente;valeur précédente;tendance"
    )


def test_the_csv_has_one_row_per_indicator_and_breakdown_row(evaluation):
    rows = csv_rows(evaluation)
    header, body = rows[0], rows[1:]
    assert all(len(row) == len(header) for row in body)
    breakdown_rows = sum(len(breakdown.rows) for breakdown in evaluation.breakdowns)
    assert len(body) == len(evaluation.indicators) + breakdown_rows
    assert body[0] == [
        "Activité",
        "active_file",
        "File active",
        "effectif",
        "2026",
        "1\xa0234",
        "2025",
        "1\xa0102",
        "↗ +12 %",  # the arrow first: a rise never starts a cell with "+"
    ]
    masked = next(row for row in body if row[2] == "Nouvelles inclusions")
    assert masked[5] == MASKED_COUNT and masked[8] == ""


def test_the_csv_has_every_breakdown_even_those_not_printed(evaluation):
    rows = csv_rows(evaluation)
    commune = [row for row in rows if row[1] == "inclusions_by_commune"]
    assert [row[2] for row in commune] == [
        "Inclusions par commune — Lyon (69123)",
        "Inclusions par commune — Bron (69029)",
    ]
    assert commune[0][5] == "52" and commune[0][7] == "40" and commune[0][8] == "↗ +30 %"
    assert commune[1][5] == MASKED_COUNT and commune[1][7] == "0"


def test_csv_cells_are_never_formulas():
    evaluation = Evaluation(
        query=EvaluationQuery(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)),
        scope="Territoire entier",
        computed_at=datetime.datetime(2027, 1, 4, tzinfo=datetime.UTC),
        families=[
            Family(
                "activity",
                "Activité",
                indicators=[Indicator("x", FORMULA, "Définition.", Unit.COUNT, 5, 5)],
                breakdowns=[
                    Breakdown("y", "@SUM(A1)", "Définition.", Unit.COUNT, [Row(FORMULA, 5, 6)])
                ],
            )
        ],
    )
    rows = csv_rows(evaluation)
    assert rows[1][2] == f"'{FORMULA}"
    assert rows[2][2] == f"'@SUM(A1) — {FORMULA}"
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES)


# --- safe_cell -----------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_safe_cell_neutralises_each_formula_prefix(prefix):
    assert safe_cell(f"{prefix}1+1") == f"'{prefix}1+1"


@pytest.mark.parametrize(
    "text", ["", "File active", "< 5", "s", "42 %", f"{MINUS}8 pts", "a=b", " =1", "'=1"]
)
def test_safe_cell_leaves_other_text_alone(text):
    assert safe_cell(text) == text


def test_safe_cell_takes_any_value():
    assert safe_cell(None) == ""
    assert safe_cell(12) == "12"
    assert safe_cell(-3) == "'-3"


@pytest.mark.parametrize(
    ("rows", "sizes"),
    [(1, [1]), (CHART_ROWS, [CHART_ROWS]), (CHART_ROWS + 1, [12, 11]), (50, [17, 17, 16])],
)
def test_a_long_breakdown_is_drawn_in_parts_of_even_sizes(rows, sizes):
    breakdown = Breakdown(
        "b", "B", "D.", Unit.COUNT, [Row(f"Ligne {n}", n, n) for n in range(rows)]
    )
    evaluation = Evaluation(
        query=EvaluationQuery(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)),
        scope="Territoire entier",
        computed_at=datetime.datetime(2027, 1, 4, tzinfo=datetime.UTC),
        families=[Family("activity", "Activité", breakdowns=[breakdown])],
    )
    with override("fr"):
        (printed,) = report_context(evaluation)["sections"][0].breakdowns
    assert [len(chart.bars) for chart in printed.charts] == sizes
    assert [bar.full_label for chart in printed.charts for bar in chart.bars] == [
        row.label for row in breakdown.rows
    ]
    assert len(printed.rows) == rows
