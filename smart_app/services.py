"""The composition root: the app's services, built once per app from its settings.

Routes find their services by type (smart_app/core/registry.py); the CLI and the tests
use `services()`, which holds the same instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app

from fhir_mappings.clinic_day import Reading
from launch.capabilities import ServerCapabilities
from launch.flow import SmartClient
from launch.gateway import FhirGateway
from launch.http import read_session, retrying_session
from launch.jwks import JwksCache
from launch.registrations import Registrations, load_registrations
from smart_app.closing.finishing import Closing
from smart_app.closing.outbox import OutboxService
from smart_app.core.config import Settings
from smart_app.core.leases import Backoff
from smart_app.core.registry import register
from smart_app.core.vault import Vault
from smart_app.previsit.outbox import PrevisitOutbox
from smart_app.previsit.service import PrevisitService
from smart_app.previsit.store import PrevisitStore
from smart_app.session.ehr_style import EhrStyles
from smart_app.session.launches import LaunchService, OpenLaunch
from smart_app.team.cds_clients import load_cds_clients
from smart_app.team.cds_service import CdsService
from smart_app.team.cds_tokens import CdsTokenVerifier
from smart_app.team.panel import TeamPanel
from smart_app.visit.chart_reads import ChartReads
from smart_app.visit.drafts import DraftStore
from smart_app.visit.editing import AgendaEditor
from smart_app.visit.page import VisitPage
from smart_app.visit.reader import VisitReader, VisitReaders

EXTENSION_KEY = "flip_services"


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request needs beyond its own input."""

    settings: Settings
    vault: Vault
    launches: LaunchService
    capabilities: ServerCapabilities
    drafts: DraftStore
    outbox: OutboxService
    readers: VisitReaders
    editor: AgendaEditor
    closing: Closing
    page: VisitPage
    previsit_store: PrevisitStore
    previsit_outbox: PrevisitOutbox
    previsit: PrevisitService
    cds: CdsService
    cds_tokens: CdsTokenVerifier
    team: TeamPanel

    def gateway(self, opened: OpenLaunch) -> FhirGateway:
        """The FHIR gateway of one launch (its base is the launch's iss)."""
        return self.launches.gateway(opened)

    def visit_reader(self, opened: OpenLaunch) -> VisitReader:
        """Reads the visit of one launch."""
        return self.readers.for_launch(opened)


FINISH_SETTLE_S = 2.0  # how long Finish waits for the chart's answer to the first write


def build_services(settings: Settings) -> Services:
    """Wire the services for `settings`."""
    registrations = (
        load_registrations(settings.registrations_file)
        if settings.registrations_file
        else Registrations([])
    )
    http = retrying_session()
    client = SmartClient(registrations, redirect_uri=f"{settings.public_url}/callback", http=http)
    vault = Vault(settings.token_encryption_key or "", settings.secret_key or "")
    launches = LaunchService(client, vault, read_http=read_session())
    capabilities = ServerCapabilities()
    drafts = DraftStore(vault)
    previsit_store = PrevisitStore(vault)
    readers = VisitReaders(
        launches=launches,
        capabilities=capabilities,
        drafts=drafts,
        canonical_base=settings.canonical_base,
        window=timedelta(days=settings.previsit_window_days),
        clinic_zone=settings.clinic_zone,
        own_responses=previsit_store.responses_for,
        clinic_language=settings.clinic_language,
        chart_reads=ChartReads(vault),
        reuse_for=timedelta(seconds=settings.chart_read_reuse_s),
    )
    outbox = OutboxService(
        launches,
        vault,
        canonical_base=settings.canonical_base,
        backoff=Backoff(settings.outbox_backoff_base_s, settings.outbox_backoff_cap_s),
        timeout_s=settings.outbox_timeout_s,
        capabilities=capabilities,
    )
    closing = Closing(
        readers=readers,
        drafts=drafts,
        outbox=outbox,
        clinic_zone=settings.clinic_zone,
        # Finish waits for the first write only where this process's worker makes it at
        # once; a worker of its own process (`flip outbox run`) takes it at its own pace.
        settle_s=FINISH_SETTLE_S if settings.runs_outbox_worker else 0.0,
    )
    previsit_outbox = PrevisitOutbox(
        launches,
        previsit_store,
        capabilities,
        backoff=Backoff(settings.outbox_backoff_base_s, settings.outbox_backoff_cap_s),
        timeout_s=settings.outbox_timeout_s,
        wake=outbox.wake,  # one worker wakes for the plans and the answers
    )
    return Services(
        settings=settings,
        vault=vault,
        launches=launches,
        capabilities=capabilities,
        drafts=drafts,
        outbox=outbox,
        readers=readers,
        editor=AgendaEditor(readers=readers, drafts=drafts),
        closing=closing,
        page=VisitPage(readers=readers, vault=vault, styles=EhrStyles(http), sections=(closing,)),
        previsit_store=previsit_store,
        previsit_outbox=previsit_outbox,
        previsit=PrevisitService(
            launches=launches,
            capabilities=capabilities,
            store=previsit_store,
            outbox=previsit_outbox,
            canonical_base=settings.canonical_base,
            clinic_zone=settings.clinic_zone,
        ),
        cds=CdsService(
            public_url=settings.public_url,
            http=http,
            zone=settings.clinic_zone,
            clinic_language=settings.clinic_language,
            canonical_base=settings.canonical_base,
        ),
        team=TeamPanel(
            launches=launches,
            capabilities=capabilities,
            reading=Reading(
                window=timedelta(days=settings.previsit_window_days),
                base=settings.canonical_base,
                clinic_language=settings.clinic_language,
            ),
            clinic_zone=settings.clinic_zone,
            own_responses=previsit_store.responses_for,
        ),
        cds_tokens=CdsTokenVerifier(load_cds_clients(settings.registrations_file), JwksCache(http)),
    )


def init_app(app: Flask, settings: Settings) -> Services:
    """Build the services and make each one findable by its type."""
    built = build_services(settings)
    app.extensions[EXTENSION_KEY] = built
    register(app, *(getattr(built, name) for name in built.__dataclass_fields__))
    return built


def services() -> Services:
    """The services of the app handling this request."""
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found
