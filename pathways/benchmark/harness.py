"""Run operations and their floors side by side; summarise, print and save the figures."""

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone


@dataclass(frozen=True)
class Operation:
    """One hot operation, and the bare SQL (or bare view) that fetches the same rows."""

    name: str
    size: str
    run: Callable[[], object]
    floor: Callable[[], object]
    target_ratio: float = 3.0


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    queries: int


@dataclass
class Result:
    name: str
    size: str
    operation: Timing
    floor: Timing
    target_ratio: float
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.operation.p95_ms / self.floor.p95_ms if self.floor.p95_ms else math.inf

    @property
    def met(self) -> bool:
        return self.ratio <= self.target_ratio


def _percentile(samples: list[float], percent: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1]


def _count_queries(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    count = len(captured)  # (read before the log is emptied)
    reset_queries()
    return count


def _timing(samples: list[float], queries: int) -> Timing:
    return Timing(
        p50_ms=round(_percentile(samples, 50), 2),
        p95_ms=round(_percentile(samples, 95), 2),
        queries=queries,
    )


def measure(operation: Operation, *, repeat: int, warmup: int) -> Result:
    """Operation and floor in one process, warmed up, their SQL queries counted on one
    call, then timed `repeat` times each, one call of each in turn: both see the same
    machine state (a noisy moment weighs on both, not on one)."""
    calls = (operation.run, operation.floor)
    for _ in range(warmup):
        for call in calls:
            call()
    queries = [_count_queries(call) for call in calls]
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for call, timed in zip(calls, samples, strict=True):
            start = time.perf_counter()
            call()
            timed.append((time.perf_counter() - start) * 1000)
    return Result(
        name=operation.name,
        size=operation.size,
        operation=_timing(samples[0], queries[0]),
        floor=_timing(samples[1], queries[1]),
        target_ratio=operation.target_ratio,
    )


def render_table(results: list[Result]) -> str:
    headers = (
        "operation",
        "data size",
        "p50 ms",
        "p95 ms",
        "SQL",
        "floor p50",
        "floor p95",
        "floor SQL",
        "ratio p95",
        "target",
    )
    rows = [
        (
            r.name,
            r.size,
            f"{r.operation.p50_ms:.1f}",
            f"{r.operation.p95_ms:.1f}",
            str(r.operation.queries),
            f"{r.floor.p50_ms:.1f}",
            f"{r.floor.p95_ms:.1f}",
            str(r.floor.queries),
            f"{r.ratio:.2f}",
            f"≤ {r.target_ratio:g}" + ("" if r.met else "  MISSED"),
        )
        for r in results
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    numeric = {2, 3, 4, 5, 6, 7, 8}

    def line(cells) -> str:
        return "  ".join(
            str(c).rjust(w) if i in numeric else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line("-" * w for w in widths)]
    out += [line(row) for row in rows]
    for r in results:
        out += [f"  {r.name}: {note}" for note in r.notes]
    return "\n".join(out)


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgresql": connection.cursor().connection.info.server_version,
    }


def write_json(path: str, *, scale: float, results: list[Result], extra: dict) -> None:
    document = {
        "date": timezone.now().isoformat(),
        "scale": scale,
        "machine": machine(),
        "operations": [
            {**asdict(r), "ratio_p95": round(r.ratio, 2), "target_met": r.met} for r in results
        ],
        **extra,
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
