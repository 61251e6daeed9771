import pytest
from django.db.models import Count, Max, Min

from pathways.catalogue import CATALOGUE, install_pathway_templates
from pathways.models import PathwayTemplate, StepTemplate
from professionals.models import Professional

pytestmark = pytest.mark.django_db


def test_installing_twice_creates_each_template_once():
    first = install_pathway_templates()
    steps = StepTemplate.objects.count()

    second = install_pathway_templates()

    assert [t.pk for t in second] == [t.pk for t in first]
    assert PathwayTemplate.objects.count() == 5
    assert StepTemplate.objects.count() == steps == sum(len(spec.steps) for spec in CATALOGUE)
    assert set(PathwayTemplate.objects.values_list("code", flat=True)) == {
        "insuffisance-cardiaque",
        "personne-agee-fragile",
        "diabete-type-2",
        "apres-cancer",
        "soins-palliatifs-domicile",
    }
    assert all(t.version == 1 and t.is_current for t in second)


def test_steps_are_numbered_from_one_without_gaps():
    install_pathway_templates()

    per_template = PathwayTemplate.objects.annotate(
        n=Count("steps"), first=Min("steps__order"), last=Max("steps__order")
    )

    for template in per_template:
        assert 5 <= template.n <= 8, template.code
        assert (template.first, template.last) == (1, template.n), template.code


def test_steps_follow_the_catalogue_in_order():
    templates = install_pathway_templates()

    for template, spec in zip(templates, CATALOGUE, strict=True):
        stored = list(template.steps.order_by("order"))
        assert [s.name for s in stored] == [step.name for step in spec.steps]
        assert [s.deadline_days for s in stored] == [step.deadline_days for step in spec.steps]
        assert {s.responsible_profession for s in stored} <= set(Professional.Profession.values)


def test_heart_failure_care_plan_is_validated_by_the_gp_and_blocks():
    install_pathway_templates()

    step = StepTemplate.objects.get(
        template__code="insuffisance-cardiaque", name="PPCS validé par le médecin traitant"
    )

    assert step.blocking
    assert step.required
    assert step.responsible_profession == Professional.Profession.PHYSICIAN
    first = StepTemplate.objects.get(template__code="insuffisance-cardiaque", order=1)
    assert (first.responsible_profession, first.deadline_days) == ("nurse", 2)


def test_an_existing_template_is_left_as_it_is():
    PathwayTemplate.objects.create(code="diabete-type-2", version=1, name="Diabète (local)")

    install_pathway_templates()

    template = PathwayTemplate.objects.get(code="diabete-type-2")
    assert template.name == "Diabète (local)"
    assert not template.steps.exists()
    assert PathwayTemplate.objects.count() == 5
