"""The `tutorial` baseline (issue 23, item 5): a Channels chat written the way the Channels
tutorial writes it, on the same PostgreSQL (a database of its own) and Redis as ECHO.

    DJANGO_SETTINGS_MODULE=bench.tutorial.settings DATABASE_URL=... REDIS_URL=... \\
        python -m daphne -b 127.0.0.1 -p PORT bench.tutorial.asgi:application

- `chat/consumers.py`: an `AsyncWebsocketConsumer`; `receive` parses the frame, saves it with the
  ORM through `database_sync_to_async(Message.objects.create)` and `group_send`s it on
  channels-redis's stock `channels_redis.core.RedisChannelLayer`; `chat_message` sends it to the
  socket. Tutorial part 3, with the save most projects add.
- `asgi.py`: tutorial part 2's routing (`AuthMiddlewareStack`, `URLRouter`), without
  `AllowedHostsOriginValidator`: the load generator is not a browser and sends no Origin (the bare
  baseline has no origin check either).
- Served by plain `daphne` (what a team deploys), not ECHO's launcher with its patches.
- `settings.py`: the tutorial's settings on PostgreSQL; one setting a real project adds:
  `CONN_MAX_AGE` (persistent connections, 60 s as cookiecutter-django), without which every
  message would open a new PostgreSQL connection and the baseline would measure that instead.

It speaks the bare baseline's room protocol (`ws /ws/room/<int:room>/`: every text frame goes to
every member of the room, the sender included), so the load generator measures it alike, and the
bench counts its stored rows (`chat_message`) against the accepted sends as it does ECHO's.
"""
