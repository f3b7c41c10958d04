"""The app's services, built once per app from its settings and reached by views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from launch.flow import SmartClient
from launch.gateway import FhirGateway, retrying_session
from launch.registrations import Registrations, load_registrations
from smart_app.capabilities import ServerCapabilities
from smart_app.config import Settings
from smart_app.drafts import DraftStore
from smart_app.ehr_style import EhrStyles
from smart_app.launches import LaunchService, OpenLaunch
from smart_app.outbox import OutboxService
from smart_app.vault import Vault
from smart_app.visit import VisitReader
from smart_app.writeback_status import Backoff

EXTENSION_KEY = "flip_services"


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request needs beyond its own input."""

    settings: Settings
    vault: Vault
    launches: LaunchService
    capabilities: ServerCapabilities
    drafts: DraftStore
    styles: EhrStyles
    outbox: OutboxService

    def gateway(self, opened: OpenLaunch) -> FhirGateway:
        """The FHIR gateway of one launch (its base is the launch's iss)."""
        return FhirGateway(opened.context.iss, opened.tokens, http=self.launches.client.http)

    def visit_reader(self, opened: OpenLaunch) -> VisitReader:
        """Reads the visit of one launch."""
        return VisitReader(
            gateway=self.gateway(opened),
            context=opened.context,
            registration=self.launches.client.registrations.find(opened.context.iss),
            capabilities=self.capabilities,
            drafts=self.drafts,
            canonical_base=self.settings.canonical_base,
            window=timedelta(days=self.settings.previsit_window_days),
        )


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
    launches = LaunchService(client, vault)
    capabilities = ServerCapabilities()
    return Services(
        settings=settings,
        vault=vault,
        launches=launches,
        capabilities=capabilities,
        drafts=DraftStore(vault),
        styles=EhrStyles(http),
        outbox=OutboxService(
            launches,
            vault,
            canonical_base=settings.canonical_base,
            backoff=Backoff(settings.outbox_backoff_base_s, settings.outbox_backoff_cap_s),
            timeout_s=settings.outbox_timeout_s,
            capabilities=capabilities,
        ),
    )


def services() -> Services:
    """The services of the app handling this request."""
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found
