"""Alembic environment. srcdesk runs migrations itself on open (see srcdesk.db)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from srcdesk.models import Base
from srcdesk.sync.capture import CAPTURE_FLAG

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # e.g. `alembic -x url=sqlite:///file upgrade head`
        url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///srcdesk.sqlite3")
        with create_engine(url).begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    # Data migrations may rewrite syncable rows; they must log what they change themselves.
    connection.info[CAPTURE_FLAG] = True
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite can't ALTER most things: copy-and-move
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.info.pop(CAPTURE_FLAG, None)


if context.is_offline_mode():
    raise SystemExit("srcdesk migrations run online only.")
run_migrations_online()
