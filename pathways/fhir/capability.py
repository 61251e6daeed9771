"""The CapabilityStatement (/fhir/metadata): built from the endpoints themselves, so that
it lists exactly the resource types, interactions and search parameters served."""

from pathways.fhir.endpoints import ENDPOINTS

# The date of this version of the interface (a CapabilityStatement must carry one).
PUBLISHED = "2026-12-01"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


def capability_statement(base_url: str) -> dict:
    resource_types = []
    for endpoint in ENDPOINTS.values():
        resource = {
            "type": endpoint.type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": param.type, "documentation": param.documentation}
                for name, param in endpoint.params.items()
            ],
        }
        if endpoint.type == "Patient":
            resource["operation"] = [{"name": "everything", "definition": EVERYTHING}]
        resource_types.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": "TSN",
        "kind": "instance",
        "software": {"name": "TSN"},
        "implementation": {
            "description": "TSN — FHIR R4 read API of the territory's coordination platform",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Searches return keyset pages (_count, 50 by default, at most "
                    "200; follow the 'next' link), without a total. Unknown search parameters "
                    "are ignored unless 'Prefer: handling=strict'. Patient data is reached "
                    "under the platform's access policy, and every access is audited."
                ),
                "security": {
                    "cors": False,
                    "description": (
                        "Authorization: Bearer with a personal token (tsnp_…) or an "
                        "organisation token (tsno_…), or a browser session."
                    ),
                },
                "resource": resource_types,
            }
        ],
    }
