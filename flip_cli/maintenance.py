"""`flip keys`: rotating the keys that seal what Flip stores."""

from __future__ import annotations

import click


@click.group()
def keys() -> None:
    """The keys that seal tokens, drafts and plans at rest (FLIP_TOKEN_ENCRYPTION_KEY)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-seal every stored sealed value with the newest key; print counts per table."""
    from smart_app import create_app
    from smart_app.core.db import db
    from smart_app.core.resealing import reseal_all
    from smart_app.services import services

    app = create_app({"outbox_worker": False, "warm_up": False})  # one pass over the tables
    with app.app_context():
        try:
            counts = reseal_all(services().vault)
        finally:
            db.engine.dispose()  # close pooled connections before the process ends
    for count in counts:
        click.echo(f"{count.table}: {count.resealed} re-sealed, {count.unreadable} unreadable")
    unreadable = sum(count.unreadable for count in counts)
    if unreadable:
        click.echo(
            f"{unreadable} value(s) open with none of the configured keys and were left as "
            "they are: keep the older keys until you know they are not needed.",
            err=True,
        )
    else:
        click.echo("Every sealed value uses the newest key: older keys can now be removed.")
