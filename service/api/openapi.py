"""Teaches the OpenAPI generator what an EDTF date looks like on the wire."""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin

from events.dates import EdtfDate


class EdtfDateSchema(OpenAPISchemaPlugin):
    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is EdtfDate

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            pattern=r"^\d{4}(-\d{2}(-\d{2})?)?[~?%]?(/(\.\.|\d{4}(-\d{2}(-\d{2})?)?[~?%]?)?)?$",
            description="EDTF date: YYYY, YYYY-MM or YYYY-MM-DD, optionally followed by ~ (approximate) "
            "or ? (uncertain), or an interval START/END of two of them (END may be .. for an open end, or "
            "empty for an unknown one); it takes effect at its start",
            examples=["2025-02-18", "2024-11", "2025~", "2025-02-18/2025-02-26", "2025-02-18/.."],
        )
