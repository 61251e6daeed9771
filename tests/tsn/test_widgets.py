"""PlainSelect writes the same <select> as Django's Select, without a template per option;
DateInput gives a browser's date picker the ISO value it reads, in any language."""

import datetime

from django import forms
from django.test.html import parse_html
from django.utils import translation

from tsn.widgets import DateInput, PlainSelect

CHOICES = [("", "Tous"), ("12", "Dr <Martin> & fils"), ("7", "Mme Roux")]


class Filter(forms.Form):
    referent = forms.ChoiceField(
        choices=CHOICES, required=False, widget=PlainSelect(attrs={"class": "form-select"})
    )


class Reference(forms.Form):
    referent = forms.ChoiceField(
        choices=CHOICES, required=False, widget=forms.Select(attrs={"class": "form-select"})
    )


def test_it_renders_what_djangos_select_renders():
    for data in ({}, {"referent": "12"}, {"referent": "7"}):
        # Compared as HTML: the same elements, attributes (in any order) and text.
        assert parse_html(str(Filter(data)["referent"])) == parse_html(
            str(Reference(data)["referent"])
        )


def test_labels_are_escaped_and_the_choice_is_marked():
    html = str(Filter({"referent": "12"})["referent"])
    assert "Dr &lt;Martin&gt; &amp; fils" in html
    assert '<option value="12" selected>' in html
    assert 'id="id_referent"' in html and 'name="referent"' in html


GROUPED = [("", "Toutes"), ("Établissements", [("ehpad", "EHPAD"), ("msp", "MSP")]), ("x", "Autre")]


def test_groups_render_as_djangos_optgroups():
    class Grouped(forms.Form):
        kind = forms.ChoiceField(choices=GROUPED, required=False, widget=PlainSelect)

    class GroupedReference(forms.Form):
        kind = forms.ChoiceField(choices=GROUPED, required=False, widget=forms.Select)

    for data in ({}, {"kind": "msp"}, {"kind": "x"}):
        assert parse_html(str(Grouped(data)["kind"])) == parse_html(
            str(GroupedReference(data)["kind"])
        )
    assert '<optgroup label="Établissements">' in str(Grouped({})["kind"])


class Review(forms.Form):
    next_review = forms.DateField(widget=DateInput(attrs={"class": "form-control"}))


def test_a_date_picker_shows_its_initial_date_in_iso_whatever_the_language():
    for language in ("fr", "en"):
        with translation.override(language):
            html = str(Review(initial={"next_review": datetime.date(2026, 1, 31)}))
        assert 'type="date"' in html
        assert 'value="2026-01-31"' in html


def test_a_date_picker_reads_back_what_it_sends():
    form = Review(data={"next_review": "2026-01-31"})
    assert form.is_valid()
    assert form.cleaned_data["next_review"] == datetime.date(2026, 1, 31)
