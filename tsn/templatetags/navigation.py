from django import template
from django.template.context import RequestContext

from tsn.navigation import NavLink, main_navigation

register = template.Library()


@register.simple_tag(takes_context=True)
def main_navigation_links(context: RequestContext) -> list[NavLink]:
    request = context["request"]
    return main_navigation(request.user, request.path)
