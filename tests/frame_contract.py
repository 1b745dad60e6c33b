"""Every frame a test receives from the server is checked against the live-event contract
(echo_site/events.py, through the AsyncAPI document's JSON Schemas): a frame the document does
not describe fails the test that received it. Wired in by tests/conftest.py."""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from echo_site.asyncapi import frame_schemas


class FrameContractError(AssertionError):
    pass


@functools.cache
def _validators() -> dict[str, list[Draft202012Validator]]:
    return {
        name: [Draft202012Validator(schema) for schema in schemas]
        for name, schemas in frame_schemas().items()
    }


def check_frame(frame: Any) -> None:
    """Raise FrameContractError unless `frame` is one of the declared server -> client frames."""
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameContractError(f"not a frame (a JSON object with a string type): {frame!r}")
    candidates = _validators().get(frame["type"])
    if not candidates:
        raise FrameContractError(f"frame type {frame['type']!r} is not in echo_site/events.py")
    problems = []
    for validator in candidates:
        error = best_match(validator.iter_errors(frame))
        if error is None:
            return
        problems.append(f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}")
    raise FrameContractError(f"{frame!r} matches no definition: {'; '.join(problems)}")
