"""The SMART App Launch 2.2 client: discovery, authorize, token, refresh, FHIR HTTP.

Uses requests and authlib, never Flask: the Flask app depends on this package, not the
other way round.
"""
