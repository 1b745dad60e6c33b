"""Every frame a test receives from the server is checked against the live-event contract
(echo_site/events.py, through the AsyncAPI document's JSON Schemas): a frame the document does
not describe fails the test that received it. Wired in by tests/conftest.py."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from echo_site.asyncapi import frame_schemas


class FrameContractError(AssertionError):
    pass


@functools.cache
def _validators() -> dict[str, list[tuple[Any, Draft202012Validator]]]:
    """Per frame type: (a fast validator, the same schema for readable errors). The Rust one
    takes about 1 us a frame, the Python one about 80: a test that reads a catch-up of thousands
    of frames must read as fast as a client, or the server closes it as too slow (4008)."""
    return {
        name: [
            (jsonschema_rs.Draft202012Validator(schema), Draft202012Validator(schema))
            for schema in schemas
        ]
        for name, schemas in frame_schemas().items()
    }


def prepare() -> None:
    """Build the validators now (the OpenAPI and AsyncAPI documents take a second or two), not
    at a test's first received frame, where a client that pauses is closed as too slow."""
    _validators()


def check_frame(frame: Any) -> None:
    """Raise FrameContractError unless `frame` is one of the declared server -> client frames."""
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameContractError(f"not a frame (a JSON object with a string type): {frame!r}")
    candidates = _validators().get(frame["type"])
    if not candidates:
        raise FrameContractError(f"frame type {frame['type']!r} is not in echo_site/events.py")
    if any(fast.is_valid(frame) for fast, _ in candidates):
        return
    problems = []
    for _, validator in candidates:
        error = best_match(validator.iter_errors(frame))
        if error is None:
            return
        problems.append(f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}")
    raise FrameContractError(f"{frame!r} matches no definition: {'; '.join(problems)}")
