"""The sandbox FHIR R4 server: storage, search, Bundles, CapabilityStatement."""
