"""Alembic environment: migrates the engine handed over by the service, or the configured database.

A migration that changes what the projections hold sets the ``rebuild_projections`` attribute (to
``"stored"`` when every stored position and daily stand must be written and rendered again, as
``rebuild --stored`` does); they are rebuilt once, after the last migration, by the code that matches the
newest schema (a rebuild inside an older migration would run today's code against yesterday's tables).
"""

from alembic import context

from service.database import connect
from service.projector import Projector
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
        rebuild = config.attributes.pop("rebuild_projections", False)  # set by this run's migrations
        if rebuild:
            if context.get_context().get_current_revision() != context.get_head_revision():
                raise RuntimeError("projections can only be rebuilt at the newest revision: upgrade to head")
            projector = Projector(is_sqlite=connection.dialect.name == "sqlite")
            projector.rebuild(connection, stored=rebuild == "stored")
    connection.commit()
