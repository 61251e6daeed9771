"""The reminder of the quarterly satisfaction questionnaire, for the home pages of
professionals and coordinators: `{% load questionnaires %}{% questionnaire_due %}`."""

from django import template
from django.utils import timezone

from portal.questionnaires import quarterly_due

register = template.Library()


@register.inclusion_tag("portal/_questionnaire_due.html", takes_context=True)
def questionnaire_due(context: template.Context) -> dict:
    """One query (an EXISTS) for a clinical user, none for anyone else."""
    return {"due": quarterly_due(context["request"].user, timezone.localdate())}
