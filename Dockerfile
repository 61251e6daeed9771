# Production image: gunicorn for the web, the same image runs the Celery worker and beat.
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STATIC_MANIFEST=1 \
    TSN_VAR_DIR=/srv/tsn/var

# WeasyPrint needs Pango; gettext compiles translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-dejavu-core gettext curl \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --home-dir /srv/tsn --create-home tsn
WORKDIR /srv/tsn/app

COPY pyproject.toml constraints.txt ./
COPY tsn ./tsn
COPY professionals ./professionals
COPY patients ./patients
COPY pathways ./pathways
COPY templates ./templates
COPY static ./static

COPY manage.py ./
RUN pip install -c constraints.txt . \
    && SECRET_KEY=build DATABASE_URL=postgresql://build@localhost/build \
       python manage.py collectstatic --noinput \
    && mkdir -p /srv/tsn/var/media && chown -R tsn /srv/tsn/var

USER tsn
EXPOSE 8000
# The access log keeps the path, never the query string nor the referrer: searches by a
# patient's name, birth date or NIR travel in query strings.
CMD ["gunicorn", "tsn.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", \
     "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s %(H)s\" %(s)s %(B)s %(M)sms \"%(a)s\"", \
     "--forwarded-allow-ips", "*"]
