"""Documents of the patient file: upload (checked by content) and audited download."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patients.access import get_patient_for
from patients.models import Document
from patients.services import add_document
from patients.views.record import DocumentForm, render_record


@require_POST
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a PDF, JPEG or PNG to the record; it appears in the timeline."""
    patient = get_patient_for(request, pk, write=True, object_type="document")
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            add_document(
                request=request,
                patient=patient,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, _("Le document a été ajouté au dossier."))
            return redirect("patients:detail", pk=patient.pk)
    return render_record(request, patient, document_form=form, status=400)


def document_download(request: HttpRequest, pk: int, document_pk: int) -> FileResponse:
    """The file, as an attachment, only from the record of the patient it belongs to."""
    patient = get_patient_for(request, pk, object_type="document", object_id=document_pk)
    document = get_object_or_404(Document, pk=document_pk, patient=patient)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
