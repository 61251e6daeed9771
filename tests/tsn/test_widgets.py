"""PlainSelect writes the same <select> as Django's Select, without a template per option."""

from django import forms
from django.test.html import parse_html

from tsn.widgets import PlainSelect

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
