"""The directory imports (professionals/imports/, the import_communes, import_finess and
import_rpps commands), through the commands, with the sample files of tests/data/directory/
(built in this order: communes, FINESS, RPPS)."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils import timezone

from pathways.benchmark.rpps_file import HEADER, write_rpps_file
from professionals.imports.base import IMPORT_LOCK, summary
from professionals.models import (
    ImportRejection,
    ImportRun,
    Organization,
    PractitionerRole,
    Professional,
)
from tsn.geo import distance_km
from tsn.models import Commune, Territory, User

DATA = Path(__file__).resolve().parent.parent / "data" / "directory"
COMMUNES = DATA / "communes-france-2025.csv"
FINESS = DATA / "etalab-cs1100507-stock-20261101-0336.csv"
RPPS = DATA / "PS_LibreAcces_Personne_activite_202611010000.txt"
RPPS_NEWER = DATA / "PS_LibreAcces_Personne_activite_202612010000.txt"

HOSPITAL, EHPAD, SSIAD, HAD = "690000013", "690000021", "690000039", "690000047"
PHARMACY, MSP, HEALTH_CENTRE, HOME_HELP = "690000054", "690000062", "690000070", "690000088"
BERNARD, LEFEBVRE, NGUYEN, DUPONT_SENECHAL = (
    "10000000017",
    "10000000025",
    "10000000033",
    "10000000058",
)
LEROY, NAMELESS, SIMON = "10000000231", "10000000256", "10000000264"
ROCHE_ADELI = "699301230"
Kind = Organization.Kind
Profession = Professional.Profession


def run_command(name: str, path: Path | str) -> str:
    out = io.StringIO()
    call_command(name, str(path), "--no-progress", stdout=out)
    return out.getvalue()


def last_run(kind: str) -> ImportRun:
    return ImportRun.objects.filter(kind=kind).latest("started_at")


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.fixture
def territory(db) -> Territory:
    return Territory.objects.create(
        name="Rhône", ars_region="Auvergne-Rhône-Alpes", departement_codes=["69"]
    )


@pytest.fixture
def communes(territory) -> None:
    run_command("import_communes", COMMUNES)


@pytest.fixture
def establishments(communes) -> None:
    run_command("import_finess", FINESS)


@pytest.fixture
def professionals(establishments) -> None:
    run_command("import_rpps", RPPS)


# --- Communes ---------------------------------------------------------------------------


def test_communes_of_the_territory_are_created_then_updated_in_place(territory, tmp_path):
    output = run_command("import_communes", COMMUNES)

    assert Commune.objects.count() == 13
    assert not Commune.objects.filter(insee_code__in=["01053", "38544"]).exists()
    villeurbanne = Commune.objects.get(insee_code="69266")
    assert (villeurbanne.name, villeurbanne.postcodes, villeurbanne.population) == (
        "Villeurbanne",
        ["69100"],
        156928,
    )
    assert (villeurbanne.latitude, villeurbanne.longitude) == (45.7719, 4.8902)  # the centre
    assert Commune.objects.get(insee_code="69123").postcodes == [f"6900{n}" for n in range(1, 10)]
    assert Commune.objects.get(name="Sainte-Foy-lès-Lyon").insee_code == "69202"
    assert Commune.objects.get(insee_code="69149").postcodes == ["69310", "69600"]
    run = last_run(ImportRun.Kind.COMMUNES)
    assert (run.status, run.rows, run.created, run.updated, run.rejected) == ("done", 15, 13, 0, 0)
    assert "créés 13, mis à jour 0, terminés 0, rejetés 0" in output
    assert "2 lignes hors du territoire" in output

    ids = dict(Commune.objects.values_list("insee_code", "id"))
    run_command("import_communes", COMMUNES)
    again = last_run(ImportRun.Kind.COMMUNES)
    assert (again.created, again.updated) == (0, 0)

    newer = [
        line.replace(",67129,", ",67500,") if line.startswith("69259,") else line
        for line in lines_of(COMMUNES)
    ]
    run_command("import_communes", write(tmp_path, "communes-france-2026.csv", newer))
    assert (last_run(ImportRun.Kind.COMMUNES).created, last_run("communes").updated) == (0, 1)
    assert Commune.objects.get(insee_code="69259").population == 67500
    assert dict(Commune.objects.values_list("insee_code", "id")) == ids


def test_communes_from_a_semicolon_file_with_other_names_and_one_line_per_postcode(
    territory, tmp_path
):
    path = write(
        tmp_path,
        "communes.csv",
        [
            "COM;LIBELLE;Code_Postal;Latitude;Longitude;PMUN",
            "69204;Saint-Genis-Laval;69230;45,6953;4,7930;21000",
            "69204;Saint-Genis-Laval;69231|69232;;;",
            "69244;Tassin-la-Demi-Lune;69160;45.7640;4.7530;22500",
            "38544;Vienne;38200;45.5256;4.8741;30092",
        ],
    )

    run_command("import_communes", path)

    saint_genis = Commune.objects.get(insee_code="69204")
    assert saint_genis.postcodes == ["69230", "69231", "69232"]
    assert (saint_genis.latitude, saint_genis.longitude, saint_genis.population) == (
        45.6953,
        4.793,
        21000,
    )
    assert Commune.objects.get(insee_code="69244").name == "Tassin-la-Demi-Lune"
    assert Commune.objects.count() == 2


def test_malformed_commune_lines_are_rejected_with_their_line_numbers(territory, tmp_path):
    lines = lines_of(COMMUNES)
    bad_code = "6926," + lines[2].split(",", 1)[1]
    bad_latitude = lines[3].replace("45.6975", "quarante-cinq")
    path = write(tmp_path, "communes-france-2025.csv", [*lines, bad_code, bad_latitude])

    output = run_command("import_communes", path)

    rejections = list(ImportRejection.objects.order_by("line").values_list("line", "reason"))
    assert [line for line, _ in rejections] == [17, 18]
    assert "Code commune INSEE invalide" in rejections[0][1]
    assert "latitude invalide" in rejections[1][1]
    assert ImportRejection.objects.get(line=18).content == bad_latitude
    assert Commune.objects.count() == 13
    assert "ligne 17 : Code commune INSEE invalide" in output


def test_a_commune_file_without_insee_codes_is_refused_naming_the_column(territory, tmp_path):
    path = write(tmp_path, "communes.csv", ["nom_standard,code_postal", "Lyon,69001"])

    with pytest.raises(CommandError, match="code_insee"):
        run_command("import_communes", path)

    assert not Commune.objects.exists()
    assert last_run(ImportRun.Kind.COMMUNES).status == ImportRun.Status.ABORTED


# --- FINESS -----------------------------------------------------------------------------


def test_establishments_of_the_territory_are_created_then_updated_in_place(communes):
    output = run_command("import_finess", FINESS)

    kinds = dict(Organization.objects.values_list("finess", "kind"))
    assert kinds == {
        HOSPITAL: Kind.HOSPITAL,
        EHPAD: Kind.EHPAD,
        SSIAD: Kind.SSIAD,
        HAD: Kind.HAD,
        PHARMACY: Kind.PHARMACY,
        MSP: Kind.MSP,
        HEALTH_CENTRE: Kind.HEALTH_CENTRE,
        HOME_HELP: Kind.HOME_HELP,
    }
    ehpad = Organization.objects.get(finess=EHPAD)
    assert ehpad.name == "EHPAD LES GLYCINES"
    assert ehpad.address == "12 bis rue DE LA REPUBLIQUE"
    assert (ehpad.postcode, ehpad.commune.name, ehpad.phone) == (
        "69100",
        "Villeurbanne",
        "0478850000",
    )
    assert (ehpad.category_code, ehpad.siret) == ("500", "77564018900021")
    assert ehpad.category == "Etablissement d'hébergement pour personnes âgées dépendantes"
    hospital = Organization.objects.get(finess=HOSPITAL)
    assert hospital.name == "CENTRE HOSPITALIER DES PORTES DU RHONE"  # rslongue
    assert hospital.commune.insee_code == "69123"
    run = last_run(ImportRun.Kind.FINESS)
    assert (run.created, run.updated, run.ended, run.rejected) == (8, 0, 0, 1)
    rejection = run.rejections.get()
    assert rejection.line == 11
    assert "Numéro FINESS invalide" in rejection.reason
    assert rejection.content.startswith("structureet;690000100;")
    assert "ligne 11 : Numéro FINESS invalide" in output

    ids = dict(Organization.objects.values_list("finess", "id"))
    run_command("import_finess", FINESS)
    again = last_run(ImportRun.Kind.FINESS)
    assert (again.created, again.updated, again.ended, again.rejected) == (0, 0, 0, 1)
    assert dict(Organization.objects.values_list("finess", "id")) == ids


def test_positions_are_converted_from_lambert_93_to_wgs84(establishments):
    hospital = Organization.objects.get(finess=HOSPITAL)
    # Lambert-93 (842000, 6519000) is at about 45.7558 N, 4.8269 E.
    assert distance_km(hospital.latitude, hospital.longitude, 45.7558, 4.8269) < 0.3
    ehpad = Organization.objects.get(finess=EHPAD)
    villeurbanne = Commune.objects.get(insee_code="69266")
    assert (
        distance_km(ehpad.latitude, ehpad.longitude, villeurbanne.latitude, villeurbanne.longitude)
        < 1
    )


def test_an_establishment_absent_from_a_newer_file_is_closed_then_reopened(
    establishments, tmp_path
):
    today = timezone.localdate()
    without_ssiad = [line for line in lines_of(FINESS) if f";{SSIAD};" not in line]

    run_command(
        "import_finess", write(tmp_path, "etalab-cs1100507-stock-20261201-0336.csv", without_ssiad)
    )

    assert Organization.objects.get(finess=SSIAD).closed_on == today
    assert Organization.objects.filter(closed_on__isnull=True).count() == 7
    run = last_run(ImportRun.Kind.FINESS)
    assert (run.created, run.updated, run.ended) == (0, 0, 1)

    run_command("import_finess", FINESS)

    assert Organization.objects.get(finess=SSIAD).closed_on is None
    assert (last_run("finess").updated, last_run("finess").ended) == (1, 0)


def test_an_establishment_entered_by_hand_is_not_closed_for_being_absent(communes):
    """Only what an import brought is closed when it leaves the file: the territory's own
    entries (here the DAC, with a FINESS number the extraction does not list) stay open,
    and they do not count towards the 20% that would abort the import."""
    dac = Organization.objects.create(
        kind=Kind.DAC, name="DAC Rhône-Est", finess="690009998", commune=None
    )
    matched = Organization.objects.create(
        kind=Kind.OTHER, name="Centre hospitalier", finess=HOSPITAL
    )

    run_command("import_finess", FINESS)

    dac.refresh_from_db()
    matched.refresh_from_db()
    assert (dac.closed_on, dac.from_finess) == (None, False)
    assert matched.from_finess and matched.kind == Kind.HOSPITAL
    assert matched.name == "CENTRE HOSPITALIER DES PORTES DU RHONE"
    assert (last_run("finess").created, last_run("finess").updated) == (7, 1)


def test_overseas_departement_codes_are_translated(db, tmp_path):
    Territory.objects.create(name="Guadeloupe", ars_region="Guadeloupe", departement_codes=["971"])
    abymes = Commune.objects.create(
        insee_code="97101",
        name="Les Abymes",
        postcodes=["97139"],
        latitude=16.2710,
        longitude=-61.5045,
    )
    guadeloupe, martinique = "970100012", "970200011"
    path = write(
        tmp_path,
        "etalab-cs1100507-stock-20261101-0336.csv",
        [
            "finess;etalab;112;2026-11-01",
            f"structureet;{guadeloupe};970100103;POLYCLINIQUE DE LA GUADELOUPE;;;;;;MORNE "
            "JOLIVIERE;;;101;9A;GUADELOUPE;97139 LES ABYMES;0590821963;;365;Etablissement de "
            "Soins Pluridisciplinaire;1106;Etablissements de Soins Pluridisciplinaires;;8610Z;"
            "06;ARS / Objectif Quantifié National;;;1980-01-01;1980-01-01;2026-01-01;",
            f"structureet;{martinique};970200003;CLINIQUE DE MARTINIQUE;;;;;;;;;209;9B;"
            "MARTINIQUE;97200 FORT DE FRANCE;;;365;Etablissement de Soins Pluridisciplinaire;"
            "1106;Etablissements de Soins Pluridisciplinaires;;;06;ARS;;;1980-01-01;1980-01-01;"
            "2026-01-01;",
            # Guadeloupe's positions are in UTM zone 20 north, not in Lambert-93.
            f"geolocalisation;{guadeloupe};660320.0;1799410.0;"
            "1,ATLASANTE,100,IGN,BD_ADRESSE,V3.1,UTM_N20;2026-01-01",
        ],
    )

    run_command("import_finess", path)

    clinic = Organization.objects.get()
    assert (clinic.finess, clinic.commune, clinic.postcode) == (guadeloupe, abymes, "97139")
    # Near Les Abymes' centre.
    assert distance_km(clinic.latitude, clinic.longitude, 16.2710, -61.5045) < 3


def test_a_latin_1_extraction_is_read(communes, tmp_path):
    path = tmp_path / FINESS.name
    path.write_bytes(FINESS.read_text(encoding="utf-8").encode("latin-1"))

    run_command("import_finess", path)

    assert Organization.objects.get(finess=EHPAD).category == (
        "Etablissement d'hébergement pour personnes âgées dépendantes"
    )


def test_a_file_that_is_not_a_finess_extraction_is_refused(communes):
    with pytest.raises(CommandError, match="pas une extraction FINESS"):
        run_command("import_finess", RPPS)

    assert not Organization.objects.exists()


# --- RPPS -------------------------------------------------------------------------------


def test_professionals_and_their_activities_are_imported(establishments):
    output = run_command("import_rpps", RPPS)

    assert Professional.objects.count() == 22
    nurse = Professional.objects.get(rpps=DUPONT_SENECHAL)
    assert (nurse.last_name, nurse.first_name, nurse.profession) == (
        "DUPONT-SÉNÉCHAL",
        "Marie-Noëlle",
        Profession.NURSE,
    )
    assert nurse.mssante_address == "mn.dupont-senechal@infirmier.mssante.fr"
    practice = nurse.roles.get()
    assert practice.address == "12 bis rue de la République"
    assert (practice.postcode, practice.commune.name, practice.practice_mode) == (
        "69100",
        "Villeurbanne",
        "L",
    )
    assert (practice.site_name, practice.phone, practice.function) == (
        "CABINET INFIRMIER DE LA REPUBLIQUE",
        "0478857412",
        "Infirmier",
    )
    assert (practice.organization, practice.source_key, practice.end) == (
        None,
        "R10100000100005",
        None,
    )

    cardiologist = Professional.objects.get(rpps=LEFEBVRE)
    assert (cardiologist.specialty, cardiologist.specialty_code, cardiologist.profession_code) == (
        "Cardiologie et maladies vasculaires",
        "SM04",
        "10",
    )
    roles = {role.practice_mode: role for role in cardiologist.roles.all()}
    assert set(roles) == {"S", "L"}
    assert roles["S"].organization.finess == HOSPITAL
    assert roles["S"].function == "Praticien hospitalier"
    assert roles["L"].organization is None
    assert roles["L"].address == "3 avenue HENRI BARBUSSE"

    # No "Identifiant technique de la structure": a hash of the place identifies it.
    source_key = Professional.objects.get(rpps=NGUYEN).roles.get().source_key
    assert len(source_key) == 64 and int(source_key, 16) >= 0
    audiologist = Professional.objects.get(last_name="DUMAS")
    assert (audiologist.profession, audiologist.profession_code, audiologist.specialty) == (
        Profession.OTHER,
        "26",
        "Audioprothésiste",
    )
    psychologist = Professional.objects.get(adeli=ROCHE_ADELI)
    assert (psychologist.rpps, psychologist.profession) == (None, Profession.PSYCHOLOGIST)
    assert Professional.objects.get(last_name="FAURE").roles.get().function == (
        "Titulaire d'officine"
    )
    assert Professional.objects.get(last_name="GIRAUD").profession == Profession.SPEECH_THERAPIST
    assert not Professional.objects.filter(rpps__in=[LEROY, NAMELESS]).exists()

    run = last_run(ImportRun.Kind.RPPS)
    assert (run.status, run.rows, run.created, run.updated, run.ended, run.rejected) == (
        "done",
        26,
        22 + 23,
        0,
        0,
        2,
    )
    assert "créés 45, mis à jour 0, terminés 0, rejetés 2" in output
    assert "1 ligne hors du territoire, ignorée." in output
    assert "Exercices : créés 23, mis à jour 0, terminés 0." in output


def test_malformed_activity_lines_are_rejected_with_their_line_numbers(establishments):
    output = run_command("import_rpps", RPPS)

    rejections = list(
        last_run(ImportRun.Kind.RPPS).rejections.order_by("line").values_list("line", "reason")
    )
    assert rejections[0][0] == 26
    assert "Numéro RPPS invalide" in rejections[0][1]
    assert rejections[1] == (27, "Champ obligatoire vide : « Nom d'exercice ».")
    assert ImportRejection.objects.get(line=27).content == lines_of(RPPS)[26]
    assert "ligne 27 : Champ obligatoire vide" in output


def test_reimporting_the_same_file_changes_nothing(professionals):
    roles = dict(PractitionerRole.objects.values_list("source_key", "id"))

    run_command("import_rpps", RPPS)

    run = last_run(ImportRun.Kind.RPPS)
    assert (run.created, run.updated, run.ended, run.rejected) == (0, 0, 0, 2)
    assert dict(PractitionerRole.objects.values_list("source_key", "id")) == roles


def test_a_newer_file_ends_the_vanished_activity_and_updates_the_phone(professionals):
    today = timezone.localdate()

    output = run_command("import_rpps", RPPS_NEWER)

    run = last_run(ImportRun.Kind.RPPS)
    assert (run.created, run.updated, run.ended) == (2, 1, 1)
    assert "créés 2, mis à jour 1, terminés 1, rejetés 2" in output
    ended = PractitionerRole.objects.get(source_key="R10100000100002")
    assert (ended.professional.rpps, ended.end) == (LEFEBVRE, today)
    assert Professional.objects.get(rpps=LEFEBVRE).roles.filter(end__isnull=True).count() == 1
    assert Professional.objects.get(rpps=BERNARD).roles.get().phone == "0478601299"
    newcomer = Professional.objects.get(rpps=SIMON)
    assert newcomer.roles.get().commune.name == "Givors"
    assert PractitionerRole.objects.filter(end__isnull=True).count() == 23

    run_command("import_rpps", RPPS)  # the activity comes back

    ended.refresh_from_db()
    assert ended.end is None
    assert (last_run("rpps").updated, last_run("rpps").ended) == (2, 1)  # reopened, phone
    assert Professional.objects.filter(rpps=SIMON).exists()  # never deleted


def test_columns_are_read_by_name_whatever_their_order(establishments, tmp_path):
    rows = [line.split("|")[:-1] for line in lines_of(RPPS)]
    reordered = ["|".join(reversed(row)) for row in rows]

    run_command("import_rpps", write(tmp_path, RPPS.name, reordered))

    nurse = Professional.objects.get(rpps=DUPONT_SENECHAL)
    assert (nurse.first_name, nurse.roles.get().address) == (
        "Marie-Noëlle",
        "12 bis rue de la République",
    )
    assert last_run(ImportRun.Kind.RPPS).created == 45


def test_a_truncated_file_aborts_and_writes_nothing(professionals, tmp_path):
    lines = lines_of(RPPS)
    truncated = write(tmp_path, RPPS_NEWER.name, lines[: int(len(lines) * 0.3)])
    before = list(PractitionerRole.objects.order_by("id").values_list("id", "end", "phone"))

    with pytest.raises(CommandError, match="il terminerait 16 exercices ouverts sur 23"):
        run_command("import_rpps", truncated)

    run = last_run(ImportRun.Kind.RPPS)
    assert run.status == ImportRun.Status.ABORTED
    assert (run.created, run.updated, run.ended) == (0, 0, 0)
    assert "rien n'a été écrit" in run.message
    assert list(PractitionerRole.objects.order_by("id").values_list("id", "end", "phone")) == before


def test_too_many_rejected_lines_abort_and_keep_the_rejections(establishments, tmp_path):
    lines = lines_of(RPPS)
    # Six more lines without a first name: 8 rejected out of 31 lines of the territory.
    broken = [lines[1].replace("|Claire|", "||") for _ in range(6)]
    path = write(tmp_path, RPPS.name, [*lines, *broken])

    with pytest.raises(CommandError, match="8 lignes du territoire sur 31 sont rejetées"):
        run_command("import_rpps", path)

    run = last_run(ImportRun.Kind.RPPS)
    assert (run.status, run.rejected) == (ImportRun.Status.ABORTED, 8)
    assert run.rejections.count() == 8
    assert not Professional.objects.exists()
    assert not PractitionerRole.objects.exists()


def test_a_missing_required_column_is_named(establishments, tmp_path):
    lines = lines_of(RPPS)
    header = lines[0].replace("|Nom d'exercice|", "|Nom|")

    with pytest.raises(CommandError, match="« Nom d'exercice »"):
        run_command("import_rpps", write(tmp_path, RPPS.name, [header, *lines[1:]]))

    assert not Professional.objects.exists()
    assert last_run(ImportRun.Kind.RPPS).status == ImportRun.Status.ABORTED


def test_the_zip_as_downloaded_is_read(establishments, tmp_path):
    archive = tmp_path / "PS_LibreAcces_202611010000.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("PS_LibreAcces_Dipl_AutExerc_202611010000.txt", "Type d'identifiant PP|\n")
        zipped.write(RPPS, RPPS.name)
        zipped.writestr("PS_LibreAcces_SavoirFaire_202611010000.txt", "Type d'identifiant PP|\n")

    run_command("import_rpps", archive)

    assert Professional.objects.count() == 22
    assert last_run(ImportRun.Kind.RPPS).file_name == archive.name


@pytest.mark.parametrize("rows", [60, 120])
def test_the_import_writes_with_a_bounded_number_of_queries(
    establishments, tmp_path, django_assert_max_num_queries, rows
):
    """As many queries for twice the lines: none is made per line."""
    first = write_rpps_file(tmp_path / RPPS.name, rows)
    # The newer file: every phone changed, the last tenth of the activities gone.
    lines = lines_of(first)
    newer = [line.replace("|04", "|09") for line in lines[: len(lines) - rows // 10]]
    newer_path = write(tmp_path, RPPS_NEWER.name, newer)

    with django_assert_max_num_queries(14):
        run_command("import_rpps", first)
    with django_assert_max_num_queries(14):
        run_command("import_rpps", newer_path)

    assert Professional.objects.count() == rows - (rows - 1) // 4
    run = last_run(ImportRun.Kind.RPPS)
    assert (run.created, run.updated, run.ended) == (0, rows - rows // 10, rows // 10)
    assert PractitionerRole.objects.filter(phone__startswith="09", end=None).count() == (
        rows - rows // 10
    )


def test_the_generated_file_has_the_real_header(tmp_path):
    path = write_rpps_file(tmp_path / RPPS.name, 1)

    assert lines_of(path)[0] == lines_of(RPPS)[0] == "|".join(HEADER) + "|"


# --- What every import shares ------------------------------------------------------------


def test_no_territory_means_no_import(db):
    with pytest.raises(CommandError, match="Aucun territoire n'est configuré"):
        run_command("import_communes", COMMUNES)

    assert not ImportRun.objects.exists()


def test_a_second_import_waits_for_the_first_to_finish(territory):
    """An import running in another session (here: its lock held by another connection)
    refuses a second one with a clear message; once it is over, the import runs."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
        with pytest.raises(CommandError, match="Un autre import de l'annuaire est en cours"):
            run_command("import_communes", COMMUNES)
        assert not Commune.objects.exists()
    finally:
        other.close()  # (the session's end releases its lock)

    run_command("import_communes", COMMUNES)

    assert Commune.objects.filter(insee_code="69266").exists()


def test_a_missing_file_is_a_clear_error(territory, tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        run_command("import_finess", tmp_path / "etalab-cs1100507-stock.csv")


def test_a_damaged_download_is_a_clear_error(establishments, tmp_path):
    archive = tmp_path / "PS_LibreAcces_202611010000.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.write(RPPS, RPPS.name)
    content = archive.read_bytes()
    archive.write_bytes(content[: len(content) // 2])

    with pytest.raises(CommandError, match="Impossible de lire le fichier"):
        run_command("import_rpps", archive)

    assert not Professional.objects.exists()


def test_the_summary_lists_the_first_twenty_rejections(db):
    run = ImportRun.objects.create(
        kind=ImportRun.Kind.RPPS, file_name="PS.txt", status="done", rejected=25
    )
    ImportRejection.objects.bulk_create(
        ImportRejection(run=run, line=line, reason=f"motif {line}", content="…")
        for line in range(2, 27)
    )

    lines = summary(run)

    assert "  ligne 21 : motif 21" in lines
    assert "  ligne 22 : motif 22" not in lines
    assert lines[-1] == "  … et 5 autres, voir l'administration"


def test_runs_are_read_only_in_the_administration(client, make_user, establishments):
    administrator = make_user(role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    client.force_login(administrator)
    run = last_run(ImportRun.Kind.FINESS)

    page = client.get(reverse("admin:professionals_importrun_change", args=[run.pk]))

    assert page.status_code == 200
    content = page.content.decode()
    assert "Numéro FINESS invalide" in content
    assert 'name="_save"' not in content
    assert client.get(reverse("admin:professionals_importrun_add")).status_code == 403
    assert (
        client.post(reverse("admin:professionals_importrun_delete", args=[run.pk])).status_code
        == 403
    )
