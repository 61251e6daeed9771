"""The e-mail that carries a portal invitation's link (portal/invitations.py).

It is neutral: no patient name, no birth date, no health data; a sentence, the link and
until when it works. It is sent by a task once the invitation is committed, and retried
while the mail server fails. The link's key is known only to that task: the database keeps
its hash, and the task's arguments are masked in Celery's events and logs.
"""

import datetime

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from portal.models import PortalInvitation


def invitation_link(key: str) -> str:
    return settings.TSN_BASE_URL + reverse("portal:invitation", kwargs={"key": key})


def _until(moment: datetime.datetime) -> str:
    local = timezone.localtime(moment)
    return _("%(date)s à %(time)s") % {
        "date": formats.date_format(local, "DATE_FORMAT"),
        "time": formats.time_format(local, "H:i"),
    }


def invitation_message(invitation: PortalInvitation, key: str) -> EmailMessage:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("TSN : invitation à consulter un dossier de coordination")
        body = "\n\n".join(
            [
                _("Bonjour,"),
                _(
                    "Vous êtes invité(e) à consulter un dossier de coordination sur TSN. Ce "
                    "lien est valable jusqu'au %(until)s, une seule fois :"
                )
                % {"until": _until(invitation.expires_at)},
                invitation_link(key),
                _(
                    "En ouvrant ce lien, vous confirmerez la date de naissance de la personne "
                    "suivie, puis vous choisirez le mot de passe de votre compte."
                ),
                _(
                    "Si vous n'attendiez pas cette invitation, ignorez ce message. Il ne "
                    "contient volontairement aucune information de santé. Merci de ne pas y "
                    "répondre."
                ),
            ]
        )
    return EmailMessage(
        subject=subject,
        body=body,
        to=[invitation.email],
        # Stable per invitation: a relay or mail client can drop a re-sent copy.
        headers={"Message-ID": f"<invitation-{invitation.pk}@tsn>"},
    )


# smtplib's errors and refused connections are all OSErrors: retried, with backoff, for
# about a day (the link lives a week); anything else is a bug and fails at once.
@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=4 * 3600,
    retry_jitter=True,
    max_retries=10,
    acks_late=True,
)
def send_invitation_task(invitation_id: int, key: str) -> bool:
    """Send the invitation's e-mail, unless it was revoked, used or has expired meanwhile."""
    invitation = PortalInvitation.objects.filter(
        pk=invitation_id,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()
    if invitation is None:
        return False
    invitation_message(invitation, key).send()
    return True
