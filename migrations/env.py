"""Alembic environment: migrates the engine handed over by the service, or the configured database.

A migration that changes what the projections hold sets ``rebuild_projections`` (to ``"rerender"`` when
every logged stance and daily stand must be written and rendered again, as ``rebuild --rerender`` does);
they are rebuilt once, after the last migration, by the code that matches the newest schema (a rebuild
inside an older migration would run today's code against yesterday's tables). At the newest revision,
daily stands rendered by another version of the rendering are rendered again.
"""

from alembic import context

from service.projection.rebuild import rebuild_in, render_stale_in
from service.settings import Settings
from service.storage.database import connect
from service.storage.tables import metadata

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
            rebuild_in(connection, rerender=rebuild == "rerender")
        elif context.get_context().get_current_revision() == context.get_head_revision():
            render_stale_in(connection)  # stands made by another rendering (events.stand_json.RENDERING)
    connection.commit()
