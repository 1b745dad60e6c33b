"""The close codes the live rooms send (docs/websocket-protocol.md lists them for clients)."""

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_TOO_BIG = 1009
# "Try again later": the credential or the room could not be read (the ticket store or the
# database is down). Clients reconnect with backoff (docs/websocket-protocol.md). Not RFC 6455's
# 1013, which daphne (autobahn) does not let an application send.
CLOSE_TRY_AGAIN_LATER = 4503
