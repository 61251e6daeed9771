"""Form widgets where Django's own are too slow for a page read all day long."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join


class PlainSelect(forms.Select):
    """A <select> whose options are written directly, not through one template each:
    a filter listing a service's hundreds of coordinators rendered its options in ~40 ms.
    Same markup as Django's Select, groups (<optgroup>) included."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}

        def options(choices) -> str:
            return format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (option_value, " selected" if str(option_value) in selected else "", label)
                    for option_value, label in choices
                ),
            )

        body = format_html_join(
            "",
            "{}",
            (
                (
                    format_html('<optgroup label="{}">{}</optgroup>', label, options(inner))
                    if isinstance(inner, (list, tuple))
                    else options([(label, inner)]),
                )
                for label, inner in self.choices
            ),
        )
        final_attrs = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final_attrs), body)
