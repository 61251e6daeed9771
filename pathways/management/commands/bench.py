"""manage.py bench: hot operations at territory scale, each beside its floor."""

import datetime
import fnmatch
import io
import tempfile
import time
import tracemalloc
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from pathways.benchmark import throughput
from pathways.benchmark.database import use_bench_database
from pathways.benchmark.harness import measure, render_table, write_json
from pathways.benchmark.operations import (
    DEMO_USERS,
    gp_busiest_patient,
    operations,
    signed_in_clients,
)
from pathways.benchmark.rpps_file import write_rpps_file
from pathways.evaluation.export import evaluation_csv
from pathways.evaluation.indicators import compute_evaluation
from pathways.evaluation.queries import STATEMENTS, EvaluationQuery, run
from pathways.evaluation.report import render_report_pdf
from professionals.imports.base import run_import
from professionals.imports.rpps import RppsImport
from tsn.models import Commune, User


class Command(BaseCommand):
    help = "Benchmark the hot operations at a territory scale, beside their floors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=0.01, help="1 = 1.4 M inhabitants")
        parser.add_argument("--only", help="operation names to run (shell pattern, e.g. 'home.*')")
        parser.add_argument("--repeat", type=int, default=30, help="timed calls per operation")
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--json", dest="json_file", help="also write the figures to FILE")
        parser.add_argument(
            "--throughput",
            type=int,
            default=0,
            metavar="SECONDS",
            help="also load gunicorn (2 workers) with wrk for SECONDS per URL",
        )
        parser.add_argument(
            "--evaluation",
            action="store_true",
            help="also time last year's whole-territory evaluation report beside its raw SQL",
        )
        parser.add_argument(
            "--import-rpps",
            type=int,
            default=0,
            metavar="ROWS",
            help="also time import_rpps on a generated extraction of ROWS lines (rolled back)",
        )

    def handle(self, *args: object, **options: object) -> None:
        scale = options["scale"]
        if not 0 < scale <= 2.5:
            raise CommandError("--scale must be above 0 and at most 2.5")
        build = use_bench_database(scale, log=self.stdout.write)
        self.stdout.write(
            f"seed_demo --scale {scale:g}: {build['seed_seconds']} s (built {build['built_at']})\n"
        )
        with override_settings(
            ROOT_URLCONF="pathways.benchmark.urls", ALLOWED_HOSTS=["testserver"]
        ):
            clients = signed_in_clients()
            selected = [
                op
                for op in operations(clients)
                if not options["only"] or fnmatch.fnmatch(op.name, options["only"])
            ]
            results = [
                measure(op, repeat=options["repeat"], warmup=options["warmup"]) for op in selected
            ]
            self.stdout.write(render_table(results))
            loads = {}
            if options["throughput"]:
                loads = self._throughput(clients, options["throughput"])
        imports = self._import_rpps(options["import_rpps"]) if options["import_rpps"] else {}
        report = self._evaluation() if options["evaluation"] else {}
        if options["json_file"]:
            write_json(
                options["json_file"],
                scale=scale,
                results=results,
                extra={
                    "seed": build,
                    "throughput": {k: vars(v) for k, v in loads.items()},
                    "import_rpps": imports,
                    "evaluation": report,
                },
            )
            self.stdout.write(f"\nFigures written to {options['json_file']}")

    def _throughput(self, clients, seconds: int) -> dict:
        if not throughput.available():
            self.stdout.write("\nThroughput skipped: wrk is not installed (apt-get install wrk).")
            return {}
        cookie = "; ".join(f"{k}={v.value}" for k, v in clients["gp"].cookies.items())
        patient, _events = gp_busiest_patient(User.objects.get(email=DEMO_USERS["gp"]).professional)
        loads = throughput.run_load(
            {
                "page": reverse("patients:detail", args=[patient.pk]),
                "floor": reverse("floor_timeline_first_page", args=[patient.pk]),
            },
            cookie,
            seconds=seconds,
        )
        page, floor = loads["page"], loads["floor"]
        self.stdout.write(
            "\nThroughput of the timeline's first page (the demo GP's busiest patient),"
            f" gunicorn 2 workers, wrk 8 connections, {seconds} s each:\n"
            f"  page   {page.requests_per_second:8.1f} req/s  p99 {page.p99_ms:7.1f} ms"
            f"  errors {page.errors}\n"
            f"  floor  {floor.requests_per_second:8.1f} req/s  p99 {floor.p99_ms:7.1f} ms"
            f"  errors {floor.errors}\n"
            f"  page/floor throughput: {page.requests_per_second / floor.requests_per_second:.0%}"
            " (target ≥ 50%)"
        )
        return loads

    def _import_rpps(self, rows: int) -> dict[str, float]:
        """Rows per second of import_rpps on an extraction of new professionals spread over
        the territory's communes: the first load, then the same file again (nothing to
        change). Everything it writes is rolled back."""
        places = [
            (postcodes[0], insee_code, name.upper())
            for insee_code, name, postcodes in Commune.objects.order_by("insee_code")[
                :500
            ].values_list("insee_code", "name", "postcodes")
        ]
        rates = {}
        with tempfile.TemporaryDirectory() as folder:
            path = write_rpps_file(
                Path(folder) / "PS_LibreAcces_Personne_activite_202612010000.txt",
                rows,
                places=places,
            )
            self.stdout.write("")
            with transaction.atomic():
                for label in ("first", "again"):
                    started = time.perf_counter()
                    run = run_import(RppsImport, path)
                    seconds = time.perf_counter() - started
                    rates[label] = round(rows / seconds)
                    self.stdout.write(
                        f"import_rpps, {rows} lines ({label}): {seconds:.1f} s,"
                        f" {rates[label]} lines/s — created {run.created},"
                        f" updated {run.updated}, rejected {run.rejected}"
                    )
                transaction.set_rollback(True)
        return rates

    def _evaluation(self) -> dict[str, float]:
        """Last calendar year's report for the whole territory (indicators, PDF, CSV)
        beside its floor: the same aggregate statements, raw, over the base tables."""
        year = timezone.localdate().year - 1
        query = EvaluationQuery(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        params = query.params(timezone.now())

        def floor() -> None:
            for statement in STATEMENTS.values():
                run(statement, params)

        floor()  # (once untimed: the floor and the report then read the same warm cache)
        started = time.perf_counter()
        floor()
        floor_seconds = time.perf_counter() - started

        started = time.perf_counter()
        evaluation = compute_evaluation(query)
        computed = time.perf_counter() - started
        pdf = render_report_pdf(evaluation)
        evaluation_csv(evaluation)
        total = time.perf_counter() - started
        # The PDF's memory, apart: tracing allocations slows the rendering down fourfold.
        tracemalloc.start()
        render_report_pdf(evaluation)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        from pypdf import PdfReader  # (a development dependency, as the benchmark is)

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        figures = {
            "floor_seconds": round(floor_seconds, 2),
            "indicators_seconds": round(computed, 2),
            "report_seconds": round(total, 2),
            "ratio": round(total / floor_seconds, 2),
            "pdf_pages": pages,
            "pdf_peak_mb_per_page": round(peak / pages / 2**20, 2),
        }
        self.stdout.write(
            f"\nEvaluation report {year}, whole territory: {total:.1f} s (indicators"
            f" {computed:.1f} s, then PDF and CSV) against its floor {floor_seconds:.1f} s"
            f" ({len(STATEMENTS)} raw statements): ratio {total / floor_seconds:.2f}"
            " (target ≤ 1.5);"
            f" PDF {pages} pages, peak Python memory {figures['pdf_peak_mb_per_page']} MB a page"
            " (target < 3)"
        )
        return figures
