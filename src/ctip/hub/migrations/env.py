"""Alembic environment for the hub: runs on the connection CTIP hands over at start-up.

CTIP applies its migrations itself (``ctip.hub.database.migrate``); nobody needs an
alembic.ini. The connection arrives in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run the hub migrations through ctip (ctip hub init / ctip serve)")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
