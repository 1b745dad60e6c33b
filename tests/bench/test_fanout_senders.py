"""The fan-out scenario's admin senders differ per room: ECHO's message limit is per user."""

from __future__ import annotations

import pytest

from bench.scenarios import FULL, QUICK, TINY, Sizes, dispute_senders


@pytest.mark.parametrize("sizes", [FULL, QUICK, TINY], ids=["full", "quick", "tiny"])
def test_no_admin_sends_in_two_rooms(sizes: Sizes) -> None:
    rooms = [dispute_senders(i, sizes.fan_members, sizes) for i in range(sizes.fan_rooms)]
    assert all(len(senders) == sizes.fan_senders and senders[:2] == [0, 1] for senders in rooms)
    admins = [member for senders in rooms for member in senders[2:]]
    assert len(admins) == len(set(admins))
