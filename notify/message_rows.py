"""The outbox row of a message, written in the statement that stores the message.

On PostgreSQL a live message is one statement (orders.services.message_post); recording its
notification as a second statement cost a round trip and a commit per message, about a third of
the live rooms' CPU per delivery (docs/benchmarks.md, issue 23). This part rides in that
statement instead: the other party gets the same row notify_record would have written (kind
message, key msg:<id>, the sender and the first lines), unless they muted the order.
"""

from __future__ import annotations

import json
from typing import Any

from orders.hooks import MessageStatementPart
from orders.models import Order

from .models import Notification, NotificationKind, OrderMute
from .recording import excerpt

_CTE = f"""
    INSERT INTO {Notification._meta.db_table}
        (user_id, kind, order_id, seq, payload, "key", created_at)
    SELECT r.uid, %(notified_kind)s, b.id, s.seq, %(notified_payload)s::jsonb,
        'msg:' || s.id::text, %(at)s::timestamptz
    FROM bumped b
    CROSS JOIN stored s
    CROSS JOIN LATERAL (
        SELECT CASE WHEN b.buyer_id = %(sender)s::bigint THEN b.creator_id ELSE b.buyer_id END
    ) AS r(uid)
    WHERE r.uid <> %(sender)s::bigint AND NOT EXISTS (
        SELECT 1 FROM {OrderMute._meta.db_table} m WHERE m.user_id = r.uid AND m.order_id = b.id
    )
    ON CONFLICT (user_id, "key") DO NOTHING
"""  # noqa: S608 - our own table names; every value is a parameter


def _params(order: Order, sender: Any, content: str) -> dict[str, Any]:
    payload = {"sender": sender.get_username(), "excerpt": excerpt(content)}
    return {
        "notified_kind": NotificationKind.MESSAGE.value,
        "notified_payload": json.dumps(payload),
    }


MESSAGE_ROW = MessageStatementPart(name="notified", cte=_CTE, params=_params)
