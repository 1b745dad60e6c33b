"""A frame's serializer is built once per process and reused for every frame (DRF deep-copies
the declared fields for each new instance: ~80 us of event-loop CPU per frame), and
reusing it keeps nothing of one frame for the next: the same answers as a fresh serializer's
`is_valid`, valid or not, in any order."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import Serializer

from chat.timeline import frame_parser
from orders.serializers import MessageInputSerializer, OrderMessageInputSerializer

FRAMES: list[dict[str, Any]] = [
    {"type": "message.send", "content": "first", "client_id": "a", "attachment_ids": [3, 4]},
    {"type": "message.send", "content": 12, "client_id": "b"},
    {"type": "message.send", "content": "third"},
    {"type": "message.send", "content": "x" * 20001, "attachment_ids": [0]},
    {"type": "message.send", "contentt": "typo", "clientId": "camel"},
    {"type": "message.send", "content": "", "client_id": None},
]


def fresh_answer(serializer_class: type[Serializer], frame: dict[str, Any]) -> tuple[str, Any]:
    serializer = serializer_class(data=frame)
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data)
    return "invalid", serializer.errors


def reused_answer(serializer_class: type[Serializer], frame: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "valid", dict(frame_parser(serializer_class).run_validation(frame))
    except ValidationError as error:
        return "invalid", error.detail


@pytest.mark.parametrize("serializer_class", [MessageInputSerializer, OrderMessageInputSerializer])
def test_a_reused_frame_parser_answers_as_a_fresh_serializer_and_builds_its_fields_once(
    monkeypatch: pytest.MonkeyPatch, serializer_class: type[Serializer]
) -> None:
    frame_parser.cache_clear()
    built = []
    get_fields = serializer_class.get_fields

    def counting(self: Any) -> Any:
        built.append(self)
        return get_fields(self)

    frames = (
        [{**f, "order_id": 7} for f in FRAMES]
        if serializer_class is not MessageInputSerializer
        else FRAMES
    )
    expected = [fresh_answer(serializer_class, f) for f in frames]
    monkeypatch.setattr(serializer_class, "get_fields", counting)
    # Twice over, so that every frame follows both a valid and an invalid one.
    answers = [reused_answer(serializer_class, f) for f in frames + frames]
    assert answers == expected + expected
    assert [kind for kind, _ in expected] == [
        "valid", "invalid", "valid", "invalid", "invalid", "valid",
    ]  # fmt: skip
    third = answers[len(frames) + 2][1]  # after the whole list once: nothing of the first frame
    assert third["content"] == "third"
    assert "client_id" not in third and "attachment_ids" not in third
    assert len(built) == 1
    assert frame_parser(serializer_class) is frame_parser(serializer_class)
