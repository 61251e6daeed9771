"""The liaison notebook (cahier de liaison): messages of the care team about one patient."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.access import can_write_patient, get_patient_for
from patients.models import LiaisonMessage, Patient, SeenMark
from patients.services import mark_seen, mentionable_users, post_liaison_message
from tsn.keyset import cursor_after, older_than, parse_cursor
from tsn.models import User

PAGE_SIZE = 50


class MentionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        if hasattr(obj, "professional"):
            return str(obj.professional)
        # The patient or a caregiver: the message will be on their portal.
        return _("%(name)s (portail patient)") % {"name": obj}


class LiaisonMessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    mentions = MentionChoiceField(
        label=gettext_lazy("Mentionner"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4}),
        help_text=gettext_lazy(
            "Membres de l'équipe de soins à prévenir ; le patient ou ses aidants, s'ils sont "
            "mentionnés, lisent le message sur leur portail."
        ),
    )

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mentions"].queryset = (
            mentionable_users(patient)
            .select_related("professional")
            .order_by("professional__last_name", "professional__first_name", "pk")
        )


def liaison(request: HttpRequest, pk: int) -> HttpResponse:
    """The 50 most recent messages, oldest first, a link to older ones; post a message."""
    write = request.method == "POST"
    patient = get_patient_for(request, pk, write=write, object_type="liaison")
    form = LiaisonMessageForm(request.POST if write else None, patient=patient)
    if write and form.is_valid():
        try:
            post_liaison_message(
                author=request.user,
                patient=patient,
                body=form.cleaned_data["body"],
                mentions=form.cleaned_data["mentions"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Message ajouté au cahier de liaison."))
            return redirect("patients:liaison", pk=patient.pk)

    thread = LiaisonMessage.objects.filter(patient=patient)
    before = parse_cursor(request.GET.get("avant"))
    if before:
        thread = thread.filter(older_than("sent_at", before))
    newest_first = list(
        thread.select_related("author__professional")
        .prefetch_related("mentions__professional")
        .order_by("-sent_at", "-pk")[: PAGE_SIZE + 1]
    )
    last = newest_first[PAGE_SIZE - 1] if len(newest_first) > PAGE_SIZE else None
    older = cursor_after(last.sent_at, last.pk) if last else ""
    page = newest_first[:PAGE_SIZE][::-1]

    # Opening the latest page reads it; older pages leave the mark where it was.
    if not before and request.method == "GET":
        read_at = mark_seen(user=request.user, patient=patient, part=SeenMark.Part.LIAISON)
    else:
        read_at = (
            SeenMark.objects.filter(user=request.user, patient=patient, part=SeenMark.Part.LIAISON)
            .values_list("seen_at", flat=True)
            .first()
        )
    for message in page:
        message.is_unread = read_at is None or message.sent_at > read_at
        message.mentions_me = any(user.pk == request.user.pk for user in message.mentions.all())
    unread_mentions = LiaisonMessage.objects.filter(patient=patient, mentions=request.user)
    if read_at is not None:
        unread_mentions = unread_mentions.filter(sent_at__gt=read_at)
    unread_mention_count = unread_mentions.count()

    return render(
        request,
        "patients/liaison_notebook.html",
        {
            "patient": patient,
            "page": page,
            "older": older,
            "is_older_page": bool(before),
            "form": form,
            "can_write": write or can_write_patient(request.user, patient),
            "unread_mention_count": unread_mention_count,
        },
        status=400 if write else 200,
    )
