"""Alembic environment: migrates the engine handed over by the service, or the configured database."""

from alembic import context

from service.database import connect
from service.settings import Settings
from service.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    database = connect(Settings.from_env().database_url)
    engine = database.writer

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
