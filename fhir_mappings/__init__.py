"""Pure functions between FHIR R4 JSON and Flip's visit model: no HTTP, no Flask."""
