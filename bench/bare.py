"""The framework's own ceiling for ``bench/writes.py``: a bare Litestar app whose
``POST /streams/{stream}/events`` reads the body and decodes it into the service's own append type, then
answers 201 with a small JSON body, storing nothing. It is served the way ``python -m service serve``
serves (granian, one process, uvloop), so that ``wrk`` with ``bench/append.lua`` against it says how many
appends a second the web stack alone allows on the machine, in the same run as the service.

    python bench/bare.py PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
from litestar import Litestar, Request, Response, get, post

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from events.codec import decoder  # noqa: E402
from service.api.append import AppendRequest  # noqa: E402

_BATCH = decoder(AppendRequest)


class Taken(msgspec.Struct):
    stream: str
    events: int


@post("/streams/{stream:str}/events", status_code=201)
async def append(request: Request, stream: str) -> Response[Taken]:
    batch = _BATCH.decode(await request.body())
    return Response(
        Taken(stream, len(batch.events)), status_code=201, headers={"Location": f"/streams/{stream}"}
    )


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    return Litestar([append, health])


def main(port: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "bench.bare:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=port,
        workers=1,
        loop=Loops.uvloop,
    ).serve()


if __name__ == "__main__":
    main(int(sys.argv[1]))
