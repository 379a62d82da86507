"""JSON encoding and decoding of events, and upcasting of stored events written by older schemas.

Input from clients is decoded strictly (unknown fields and types are errors, with the JSON path of the
fault). Stored events are decoded with the same types after their stored ``schema_version`` has been brought
up to the current one by the upcasters registered in :data:`UPCASTERS`, so old rows are never rewritten.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import msgspec

from events.dates import EdtfDate
from events.vocabulary import EVENT_TYPES, AnyEvent, Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (type name, stored version) -> function turning that version's JSON object into the next version's.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}

# What an upcast position of version 1 rests on. Version 1 recorded no basis: all such a position says is
# that its event's sources report it, which is "reported". Claiming the party's own words ("stated") or
# the source's inference ("inferred") would say more than the stored event does.
UPCAST_BASIS = "reported"


def _with_basis(positions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"basis": UPCAST_BASIS, **position} for position in positions]


def _positions_get_a_basis(obj: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2 of every type: each position, and each position a correction sets, gets a basis."""
    obj = dict(obj)
    if "positions" in obj:
        obj["positions"] = _with_basis(obj["positions"])
    changes = obj.get("changes")
    if isinstance(changes, dict) and isinstance(changes.get("positions"), list):
        obj["changes"] = dict(changes, positions=_with_basis(changes["positions"]))
    return obj


for _name in EVENT_TYPES:  # DevelopmentReported began at 2: its entry is never used
    UPCASTERS[(_name, 1)] = _positions_get_a_basis


@functools.lru_cache(maxsize=65_536)
def parse_date(text: str) -> EdtfDate:
    """An EdtfDate, made once per text: dates repeat across events, and an EdtfDate is never changed once
    made, so one object can serve all."""
    return EdtfDate(text)


def dec_hook(tp: type, obj: Any) -> Any:
    if tp is EdtfDate:
        if not isinstance(obj, str):
            raise TypeError(f"expected a date string, got {type(obj).__name__}")
        return parse_date(obj)
    raise NotImplementedError(f"cannot decode {tp!r}")


def enc_hook(obj: Any) -> Any:
    if isinstance(obj, EdtfDate):
        return obj.text
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=enc_hook)
_event_decoder = msgspec.json.Decoder(AnyEvent, dec_hook=dec_hook)


def encode(value: Any) -> bytes:
    """Canonical JSON: struct fields in declaration order, so equal events encode to equal bytes."""
    return _encoder.encode(value)


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=enc_hook)


def decoder(tp: Any) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(tp, dec_hook=dec_hook)


def convert(obj: Any, tp: Any) -> Any:
    return msgspec.convert(obj, tp, dec_hook=dec_hook)


def current_version(type_name: str) -> int:
    return EVENT_TYPES[type_name].schema_version


def decode_stored(data: bytes | str, type_name: str, schema_version: int) -> Event:
    """Decode an event as stored, upcasting it first if an older schema wrote it."""
    if schema_version == current_version(type_name):
        return _event_decoder.decode(data)
    obj = msgspec.json.decode(data)
    version = schema_version
    while version < current_version(type_name):
        obj = UPCASTERS[(type_name, version)](obj)
        version += 1
    return convert(obj, AnyEvent)


def apply_changes(target: Event, changes: dict[str, Any]) -> Event:
    """The target event as corrected by ``changes``; raises ``msgspec.ValidationError`` if invalid.

    Identity fields (id, type, stream) cannot be corrected.
    """
    frozen = {"id", "type", "stream"} & changes.keys()
    if frozen:
        raise msgspec.ValidationError(f"cannot correct {', '.join(sorted(frozen))} - at `$.changes`")
    unknown = changes.keys() - set(type(target).__struct_fields__)
    if unknown:
        raise msgspec.ValidationError(
            f"{type(target).__name__} has no field {', '.join(sorted(unknown))} - at `$.changes`"
        )
    merged = to_builtins(target) | changes
    return convert(merged, AnyEvent)
