"""Messages sent to us by the organisations' machines: the HL7 v2 hospital feed.

No session and no CSRF token: a machine authenticates with its organisation's API token
(`Authorization: Bearer <key>`), issued by `manage.py issue_api_token`."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pathways.hl7 import decode_er7
from pathways.services.hospital_feed import receive_hl7_message
from professionals.models import OrganizationToken
from tsn.audit import client_ip

ER7_CONTENT_TYPE = "x-application/hl7-v2+er7; charset=utf-8"


def _token(request: HttpRequest) -> OrganizationToken | None:
    scheme, _space, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return OrganizationToken.authenticate(key)


@csrf_exempt
@login_not_required
@require_POST
def hl7v2_inbound(request: HttpRequest) -> HttpResponse:
    """One ER7 message in the body; its ACK in the response (200, whatever the ACK says).
    Without a valid token nothing is read or kept: 401."""
    token = _token(request)
    if token is None:
        response = HttpResponse(
            _("Jeton d'API absent, inconnu ou révoqué : rien n'a été reçu."),
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="tsn"'
        return response
    ack, _message = receive_hl7_message(
        organization=token.organization,
        raw=decode_er7(request.body),
        client_ip=client_ip(request),
    )
    response = HttpResponse(ack.encode("utf-8"), content_type=ER7_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
