"""The AsyncAPI 3.0 document of the live rooms, generated from echo_site/events.py.

Frames become JSON Schemas (draft 2020-12, as AsyncAPI 3.0's default schema format allows); the
REST resources they carry are copied from the OpenAPI schema drf-spectacular generates for
/api/schema, so a frame's `order` and GET /api/orders/{id} share one definition. Served at
/api/asyncapi.json; the test suite validates every received frame against it.
"""

from __future__ import annotations

import enum
import functools
import types
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints

from django.http import HttpRequest, JsonResponse
from drf_spectacular.generators import SchemaGenerator

from echo_site import events

SCHEMAS = "#/components/schemas/"


class _Converter:
    """Python annotations -> JSON Schema, collecting named schemas as it goes."""

    def __init__(self, openapi_components: dict[str, Any]) -> None:
        self.openapi = openapi_components
        self.schemas: dict[str, Any] = {}

    def frame(self, typed_dict: type) -> dict[str, Any]:
        name = typed_dict.__name__
        if name in self.openapi:
            raise TypeError(f"frame {name} has the name of a REST schema: rename it")
        if name not in self.schemas:
            self.schemas[name] = {}  # reserved first: a frame may refer to itself
            hints = get_type_hints(typed_dict, include_extras=True)
            required = sorted(typed_dict.__required_keys__)  # type: ignore[attr-defined]
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {key: self.annotation(hint) for key, hint in hints.items()},
                "required": required,
                "additionalProperties": False,
            }
            if typed_dict.__doc__ and typed_dict.__doc__ is not dict.__doc__:
                schema["description"] = " ".join(typed_dict.__doc__.split())
            self.schemas[name] = schema
        return {"$ref": SCHEMAS + name}

    def resource(self, resource: events.Resource) -> dict[str, Any]:
        self.copy_component(resource.component)
        if not resource.extra:
            return {"$ref": SCHEMAS + resource.component}
        # The resource with more properties, e.g. MessagePreview: a component of its own, as
        # strict as the resource (allOf cannot extend a schema that forbids other properties).
        name = resource.component + "".join(key.title() for key, _ in resource.extra)
        if name not in self.schemas:
            base = self.schemas[resource.component]
            extra = {key: self.annotation(hint) for key, hint in resource.extra}
            self.schemas[name] = {
                **base,
                "properties": {**base["properties"], **extra},
                "required": [*base["required"], *extra],
            }
        return {"$ref": SCHEMAS + name}

    def copy_component(self, name: str) -> None:
        if name in self.schemas:
            return
        schema = _json_schema(self.openapi[name])
        if "properties" in schema:
            # What the REST API documents is all a frame's resource may carry: a builder that adds
            # a field the serializer does not declare fails every test that receives it.
            schema["additionalProperties"] = False
        self.schemas[name] = schema
        for referenced in _refs(schema):
            self.copy_component(referenced)

    def annotation(self, hint: Any) -> dict[str, Any]:
        origin = get_origin(hint)
        if origin is NotRequired:
            return self.annotation(get_args(hint)[0])
        if origin is Annotated:
            base, *metadata = get_args(hint)
            for item in metadata:
                if isinstance(item, events.Resource):
                    return self.resource(item)
            return self.annotation(base)
        if origin is Literal:
            values = list(get_args(hint))
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin in (Union, types.UnionType):
            return {"anyOf": [self.annotation(arg) for arg in get_args(hint)]}
        if origin is list:
            return {"type": "array", "items": self.annotation(get_args(hint)[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.annotation(get_args(hint)[1])}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"enum": [member.value for member in hint]}
        if isinstance(hint, type) and hasattr(hint, "__required_keys__"):
            return self.frame(hint)
        simple = {str: "string", int: "integer", bool: "boolean", float: "number"}
        if hint in simple:
            return {"type": simple[hint]}
        if hint is type(None) or hint is None:
            return {"type": "null"}
        if hint is Any:
            return {}
        raise TypeError(f"no JSON Schema for {hint!r}")


def _json_schema(openapi_schema: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type; refs re-pointed at this document."""
    if isinstance(openapi_schema, list):
        return [_json_schema(item) for item in openapi_schema]
    if not isinstance(openapi_schema, dict):
        return openapi_schema
    schema = {key: _json_schema(value) for key, value in openapi_schema.items()}
    if "$ref" in schema:
        schema["$ref"] = SCHEMAS + schema["$ref"].rsplit("/", 1)[1]
    if schema.pop("nullable", False):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _refs(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(_refs(item) for item in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = {schema["$ref"].rsplit("/", 1)[1]} if "$ref" in schema else set()
    return found.union(*(_refs(value) for value in schema.values()))


def _message_name(frame: type) -> str:
    return frame.__name__[0].lower() + frame.__name__[1:]


@functools.cache
def document() -> dict[str, Any]:
    """The whole document; `servers` is filled in per request by the view."""
    openapi = SchemaGenerator().get_schema(request=None, public=True)
    converter = _Converter(openapi["components"]["schemas"])
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for room in events.ROOMS:
        room_messages: dict[str, Any] = {}
        for frame in (*room.sends, *room.receives):
            name = _message_name(frame)
            if name not in messages:
                messages[name] = {
                    "name": " | ".join(events.frame_names(frame)),
                    "title": frame.__name__,
                    "contentType": "application/json",
                    "payload": converter.frame(frame),
                }
            room_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channel: dict[str, Any] = {
            "address": room.address,
            "description": room.description,
            "messages": room_messages,
        }
        if room.parameters:
            channel["parameters"] = {p: {"description": "A positive id."} for p in room.parameters}
        channels[room.name] = channel
        for action, frames in (("send", room.sends), ("receive", room.receives)):
            operations[f"{room.name}.{action}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{room.name}"},
                "messages": [
                    {"$ref": f"#/channels/{room.name}/messages/{_message_name(f)}"} for f in frames
                ],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ECHO live rooms",
            "version": "1.0.0",
            "description": "Websocket frames of ECHO's live rooms, one JSON object per text "
            "frame. Authentication, close codes, resuming and limits: docs/websocket-protocol.md. "
            "The REST API (OpenAPI): /api/schema.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": converter.schemas},
    }


def frame_schemas() -> dict[str, list[dict[str, Any]]]:
    """{frame type: [the JSON Schema of each server -> client definition of that type]}, each
    schema carrying the document's components, ready for a validator."""
    doc = document()
    defs = doc["components"]["schemas"]
    by_name: dict[str, list[dict[str, Any]]] = {}
    seen: set[type] = set()
    for room in events.ROOMS:
        for frame in room.sends:
            if frame in seen:
                continue
            seen.add(frame)
            schema = {"$ref": SCHEMAS + frame.__name__, "components": {"schemas": defs}}
            for name in events.frame_names(frame):
                by_name.setdefault(name, []).append(schema)
    return by_name


def asyncapi_view(request: HttpRequest) -> JsonResponse:
    """GET /api/asyncapi.json: the document, with this host as its server."""
    server = {
        "host": request.get_host(),
        "protocol": "wss" if request.is_secure() else "ws",
        "description": "Authenticate the handshake as docs/websocket-protocol.md says "
        "(Authorization: Bearer, a ?ticket= from POST /api/ws-ticket, or the session cookie).",
    }
    response = JsonResponse({**document(), "servers": {"echo": server}})
    response["Cache-Control"] = "public, max-age=300"
    return response
