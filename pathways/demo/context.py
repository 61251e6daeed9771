"""What every phase of the demo generator shares: scale, seeded randomness, clock, log."""

import datetime
import random
import time
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from faker import Faker

# Scale 1 is a 1.4-million-inhabitant territory.
INHABITANTS_AT_SCALE_1 = 1_400_000
# Timelines and pathways span the last three years.
HISTORY_DAYS = 3 * 365


@dataclass
class Context:
    scale: float
    seed: int
    # "Today" of the generated world; every date is relative to it (determinism).
    today: datetime.date
    log: Callable[[str], None]
    rng: random.Random = field(init=False)
    fake: Faker = field(init=False)
    tz: zoneinfo.ZoneInfo = field(init=False)
    started: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        # Demo data, not secrets: a seeded, reproducible generator is the point.
        self.rng = random.Random(self.seed)  # noqa: S311 - demo data  # nosec B311
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(self.seed)
        self.tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)

    @property
    def now(self) -> datetime.datetime:
        """The generated world's present: midnight at the start of `today`."""
        return datetime.datetime.combine(self.today, datetime.time(), tzinfo=self.tz)

    def count(self, at_scale_1: float, minimum: int) -> int:
        """How many of a thing at this scale, never fewer than `minimum`."""
        return max(minimum, round(at_scale_1 * self.scale))

    def days_ago(self, days: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days)

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        """An aware datetime on `day` at local time hour:minute."""
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    def working_time(self, day: datetime.date) -> datetime.datetime:
        """A moment of the working day, never after the generated world's present."""
        moment = self.at(day, self.rng.randint(8, 18), self.rng.randrange(0, 60, 5))
        return min(moment, self.now - datetime.timedelta(minutes=self.rng.randint(5, 300)))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def phone(self, *, mobile: bool = False) -> str:
        prefix = self.rng.choice(("06", "07")) if mobile else "04"
        pairs = " ".join(f"{self.rng.randrange(100):02d}" for _ in range(4))
        return f"{prefix} {pairs}"

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        self.log(_("%(phase)s…") % {"phase": name})
        yield
        now = time.monotonic()
        self.log(
            _("  fait en %(seconds).1f s (total %(total).1f s)")
            % {"seconds": now - start, "total": now - self.started}
        )


def ascii_slug(text: str, separator: str = "-") -> str:
    """Lower-case ASCII letters and digits, words joined by `separator` (for e-mail parts)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    return separator.join(words)
