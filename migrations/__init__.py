"""Alembic migrations of Flip's database; `flip db upgrade` applies them."""
