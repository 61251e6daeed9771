"""What the portal's pages and the "download all my data" archive show alike: the care
plan's goals and actions with their labels, and where each access to the record came from."""

from pathways.models import CarePlanVersion
from professionals.models import OrganizationToken, PractitionerRole
from tsn.models import AuditEvent


def labelled_goals_and_actions(version: CarePlanVersion | None) -> dict[str, list[dict]]:
    """The version's goals (with `status_label`) and actions (with `kind_label`)."""
    if version is None:
        return {"goals": [], "actions": []}
    statuses = dict(CarePlanVersion.GoalStatus.choices)
    kinds = dict(CarePlanVersion.ActionKind.choices)
    return {
        "goals": [
            {**goal, "status_label": statuses.get(goal.get("status"), "")} for goal in version.goals
        ],
        "actions": [
            {**action, "kind_label": kinds.get(action.get("kind"), "")}
            for action in version.actions
        ],
    }


def with_organisations(events: list[AuditEvent]) -> list[AuditEvent]:
    """Each trace's `organisations`: where its author practises, or the organisation whose
    software made the request (an organisation's API token); two queries for the list."""
    names: dict[int, list[str]] = {}
    roles = (
        PractitionerRole.objects.filter(
            professional__user_id__in={event.actor_id for event in events if event.actor_id}
        )
        .values_list("professional__user_id", "organization__name")
        .order_by("organization__name")
        .distinct()
    )
    for user_id, name in roles:
        names.setdefault(user_id, []).append(name)
    prefix = f"{OrganizationToken.AUDIT_KIND}:"
    token_ids = {
        int(event.api_token.removeprefix(prefix))
        for event in events
        if event.actor_id is None and event.api_token.startswith(prefix)
    }
    machines = dict(
        OrganizationToken.objects.filter(pk__in=token_ids).values_list("pk", "organization__name")
    )
    for event in events:
        if event.actor_id is not None:
            event.organisations = ", ".join(names.get(event.actor_id, []))
        elif event.api_token.startswith(prefix):
            event.organisations = machines.get(int(event.api_token.removeprefix(prefix)), "")
        else:
            event.organisations = ""
    return events
