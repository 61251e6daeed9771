"""What the portal's users write: a message to the coordination that follows the patient."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from patients.access import FOLLOWING_STATUSES
from patients.models import LiaisonMessage, Patient
from tsn.models import User

NO_COORDINATION = _(
    "Aucune équipe de coordination ne suit votre dossier en ce moment : adressez-vous à "
    "votre médecin traitant."
)


def coordination_referents(patient: Patient) -> list[User]:
    """The active accounts of the referent coordinators of the patient's current pathways."""
    return list(
        User.objects.filter(
            is_active=True,
            professional__referent_pathways__patient=patient,
            professional__referent_pathways__status__in=FOLLOWING_STATUSES,
        )
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def post_message_to_coordination(*, author: User, patient: Patient, body: str) -> LiaisonMessage:
    """A message of the patient or a caregiver: in the liaison notebook, addressed to (so
    mentioning) the referent coordinators, who see it among their unread mentions."""
    referents = coordination_referents(patient)
    if not referents:
        raise ValidationError(NO_COORDINATION, code="no_coordination")
    message = LiaisonMessage.objects.create(patient=patient, author=author, body=body)
    message.mentions.set(referents)
    return message
