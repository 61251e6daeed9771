"""Settings of the gunicorn a benchmark starts: the platform's, plus the floor views."""

from tsn.settings import *  # noqa: F403

ROOT_URLCONF = "pathways.benchmark.urls"
