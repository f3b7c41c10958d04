"""Synthetic demo data for the sandbox EHR: a CF and IBD clinic with visits today."""

from __future__ import annotations

from ehr_sandbox.demo.bundle import build_demo_bundle, demo_practitioner_id

__all__ = ["build_demo_bundle", "demo_practitioner_id"]
