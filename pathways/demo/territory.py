"""The demo territory and its communes, grouped in sectors."""

import itertools
from dataclasses import dataclass

from pathways.demo.context import INHABITANTS_AT_SCALE_1, Context
from tsn.models import Commune, Territory

TERRITORY_NAME = "Territoire de santé Rhône-Est (démo)"


@dataclass(frozen=True)
class Sector:
    name: str
    departement: str
    latitudes: tuple[float, float]
    longitudes: tuple[float, float]
    weight: int


SECTORS = (
    Sector("Est lyonnais", "69", (45.66, 45.80), (4.90, 5.10), 5),
    Sector("Porte des Alpes", "69", (45.55, 45.68), (4.95, 5.22), 3),
    Sector("Pays de l'Ozon", "69", (45.50, 45.60), (4.85, 5.00), 2),
    Sector("Côtière de l'Ain", "01", (45.80, 45.92), (4.95, 5.22), 3),
    Sector("Plaine de l'Ain", "01", (45.82, 46.00), (5.22, 5.45), 2),
    Sector("Dombes", "01", (45.92, 46.10), (4.85, 5.15), 2),
)

# Commune names: a root and, often, a qualifier, as in the villages of the Ain and Rhône.
COMMUNE_ROOTS = (
    "Villeneuve",
    "Montferrand",
    "Beauregard",
    "Châtillon",
    "Roche",
    "Montagnieu",
    "Valbonne",
    "Fontaines",
    "Villette",
    "Belleroche",
    "Pontanevaux",
    "Sérézin",
    "Chavagneux",
    "Marcilleux",
    "Balan",
    "Bressolles",
    "Charnoz",
    "Janneyrias",
    "Loyettes",
    "Pollieu",
    "Rignieux",
    "Tramoyes",
    "Versailleux",
    "Cordieux",
    "Joyeux",
    "Chalamont",
    "Crans",
    "Faramans",
    "Birieux",
    "Mionnay",
    "Toussieu",
    "Chaponnay",
    "Marennes",
    "Communay",
    "Ternay",
    "Simandres",
    "Colombier",
    "Genas",
    "Pusignan",
    "Jonage",
    "Jons",
    "Saugnieu",
    "Satolas",
    "Chassieu",
    "Mions",
    "Corbas",
    "Feyzin",
    "Solaize",
    "Irigny",
    "Vourles",
    "Brindas",
    "Saint-Bernard",
    "Saint-Maurice",
    "Saint-Jean",
    "Saint-Laurent",
    "Saint-Didier",
    "Saint-Romain",
    "Saint-Pierre",
    "Saint-Marcel",
    "Saint-Georges",
    "Saint-Trivier",
    "Sainte-Croix",
    "Sainte-Julie",
    "Sainte-Olive",
    "Sainte-Euphémie",
)
COMMUNE_QUALIFIERS = (
    "",
    "",
    "",
    "",
    "",
    "",
    "-sur-Ain",
    "-sur-Rhône",
    "-en-Dombes",
    "-de-Mure",
    "-les-Bains",
    "-le-Haut",
    "-la-Forêt",
    "-sous-Bois",
    "-en-Bresse",
    "-le-Vieux",
    "-la-Côte",
    "-les-Étangs",
    "-du-Plateau",
    "-sur-Veyle",
    "-d'Ozon",
    "-le-Neuf",
    "-la-Rivière",
    "-de-Bugey",
)


@dataclass
class Communes:
    """The communes as later phases use them: ids, sector indexes, population weights."""

    ids: list[int]
    postcodes: list[str]
    sectors: list[int]
    cumulative_population: list[int]
    insee_codes: list[str]
    objects: list[Commune]


def create_territory(ctx: Context) -> Communes:
    """The territory and its communes: a few towns, many villages, in six sectors."""
    rng = ctx.rng
    Territory.objects.create(
        name=TERRITORY_NAME,
        ars_region="Auvergne-Rhône-Alpes",
        departement_codes=sorted({sector.departement for sector in SECTORS}),
    )
    count = ctx.count(600, 12)
    sectors = list(range(len(SECTORS))) + rng.choices(
        range(len(SECTORS)), weights=[s.weight for s in SECTORS], k=max(0, count - len(SECTORS))
    )
    # A few large towns and many villages: population falls with rank (Zipf's law).
    weights = [rng.uniform(0.7, 1.3) / (rank + 1) ** 1.05 for rank in range(count)]
    weights[0] = 1.0
    total = INHABITANTS_AT_SCALE_1 * ctx.scale
    populations = [max(80, round(total * w / sum(weights))) for w in weights]
    codes: dict[str, list[int]] = {}
    for departement in dict.fromkeys(s.departement for s in SECTORS):
        needed = sum(1 for sector in sectors if SECTORS[sector].departement == departement)
        codes[departement] = rng.sample(range(1, 1000), needed)
    names = _commune_names(ctx, count)
    communes = []
    for index, sector_index in enumerate(sectors):
        sector = SECTORS[sector_index]
        name = names[index]
        code = codes[sector.departement].pop()
        postcode_count = 3 if index == 0 else 1
        postcodes = sorted(
            {f"{sector.departement}{rng.randrange(10, 99)}0" for _ in range(postcode_count)}
        )
        communes.append(
            Commune(
                insee_code=f"{sector.departement}{code:03d}",
                name=name,
                postcodes=postcodes,
                latitude=round(rng.uniform(*sector.latitudes), 5),
                longitude=round(rng.uniform(*sector.longitudes), 5),
                population=populations[index],
                sector=sector.name,
            )
        )
    Commune.objects.bulk_create(communes, batch_size=1000)
    return Communes(
        ids=[c.pk for c in communes],
        postcodes=[c.postcodes[0] for c in communes],
        sectors=sectors,
        cumulative_population=list(itertools.accumulate(populations)),
        insee_codes=[c.insee_code for c in communes],
        objects=communes,
    )


def _commune_names(ctx: Context, count: int) -> list[str]:
    """`count` distinct names; beyond the roots' combinations, villages named after saints."""
    names = [
        root + qualifier
        for root in COMMUNE_ROOTS
        for qualifier in dict.fromkeys(COMMUNE_QUALIFIERS)
    ]
    ctx.rng.shuffle(names)
    # Bare roots first: the largest towns have the plainest names.
    names.sort(key=lambda name: name.count("-") - name.startswith("Saint"))
    chosen = names[: min(count, len(names))]
    taken = set(chosen)
    while len(chosen) < count:
        female = ctx.rng.random() < 0.5
        given = ctx.fake.first_name_female() if female else ctx.fake.first_name_male()
        name = f"{'Sainte' if female else 'Saint'}-{given}{ctx.rng.choice(COMMUNE_QUALIFIERS)}"
        if name not in taken:
            taken.add(name)
            chosen.append(name)
    return chosen
