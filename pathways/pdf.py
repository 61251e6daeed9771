"""PDFs: a Django template rendered by WeasyPrint, the same template as the printable page.

WeasyPrint fetches what the page links to (the print style sheet, the logo). It is given
a fetcher that serves our own static files and nothing else: no network access, no file
of the server outside the static files, whatever a template or a user's text contains.
"""

import mimetypes
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The address the document is rendered at; only its static files can be fetched.
BASE_URL = "https://tsn.invalid/"


class StaticFilesOnly(URLFetcher):
    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        prefix = settings.STATIC_URL
        if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or not parts.path.startswith(prefix):
            raise ValueError(f"refused: {url}")
        path = finders.find(parts.path.removeprefix(prefix))
        if path is None:
            raise ValueError(f"no such static file: {url}")
        with open(path, "rb") as file:
            body = file.read()
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})


def render_pdf(template_name: str, context: dict, request: HttpRequest | None = None) -> bytes:
    html = render_to_string(template_name, context, request=request)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnly()).write_pdf()
