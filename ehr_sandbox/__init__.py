"""A local sandbox EHR: FHIR R4 server, SMART authorization server and EHR pages.

It speaks only standard SMART App Launch 2.2 and FHIR R4 and imports nothing from the
app, so that a test that passes against it means something against a real EHR.
"""
