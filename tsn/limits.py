"""The largest request body the platform reads: refused before Django parses or spools
anything (a 10 GB "document" would otherwise land in temporary files first). The reverse
proxy should refuse it even earlier (README, "Production")."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from tsn.rest import API_PATHS, bilingual, entry

TOO_LARGE = _("Le corps de la requête est trop volumineux (au plus %(megabytes)s Mo).")


class RequestSizeLimit:
    """Middleware: 413 for a declared body above `TSN_MAX_REQUEST_BYTES`."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= settings.TSN_MAX_REQUEST_BYTES:
            return self.get_response(request)
        params = {"megabytes": settings.TSN_MAX_REQUEST_BYTES // (1024 * 1024)}
        if request.path.startswith(API_PATHS):
            french, english = bilingual(TOO_LARGE, params)
            return JsonResponse({"errors": [entry("too_large", french, english)]}, status=413)
        with translation.override(translation.get_language_from_request(request)):
            return HttpResponse(str(TOO_LARGE) % params, status=413, content_type="text/plain")
