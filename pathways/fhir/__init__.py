"""The FHIR R4 read API under /fhir/ (French profiles: FR Core identifiers)."""
