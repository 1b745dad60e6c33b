"""JSON parsing that never turns a price into a float."""

from __future__ import annotations

import decimal
import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class DecimalJSONParser(JSONParser):
    """Like DRF's JSONParser, but JSON numbers with a fraction become Decimal, not float."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            raw = stream.read()
            if not raw:
                raise ParseError("The request body is empty; send a JSON object.")
            text = raw.decode(encoding)
            return json.loads(
                text,
                parse_float=decimal.Decimal,
                parse_constant=_reject_constant,
            )
        except RecursionError as exc:
            raise ParseError("Malformed JSON: nested too deeply.") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
