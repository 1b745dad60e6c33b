"""ECHO's live-room benchmark (issue 7).

    .venv/bin/python -m bench run --scenario all --quick          # a couple of minutes
    .venv/bin/python -m bench run --scenario all --repeat 3 --json bench.json   # the full sizes
    .venv/bin/python -m bench run --scenario paced,maxrate --compare before=/tmp/echo-before
    .venv/bin/python -m bench run --scenario maxrate,two --two-scenarios maxrate --repeat 2
    .venv/bin/python -m bench run --scenario churn --systems echo    # five minutes
    .venv/bin/python -m bench run --quick --scenario two,shards --systems echo,bare,tutorial
    # what each run-time speed patch buys (docs/benchmarks.md, issue 16), ~15 minutes
    .venv/bin/python -m bench run --scenario paced --systems echo --repeat 5 --paced-seconds 15 \
        --paced-orders 200 --variant no-eager:ECHO_PATCHES_OFF=eager_tcp_writes ...

What one run does, all on 127.0.0.1:
1. Creates a fresh PostgreSQL database (`--db-name`, default echo_bench; dropped at the end
   unless --keep-db), migrates it, and starts a private redis-server (pub/sub channels are global
   to a Redis server: sharing one with other test runs would cross their rooms).
2. Seeds it through ECHO's services (bench/seed.py): users, orders, paid and disputed orders for
   the dispute rooms, a backlog for the resume storm, and access tokens for every user.
3. For each scenario and each system, starts the system as production does
   (`python -m echo_site.serve` = daphne, DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
   REDIS_URL; one or two processes), logs a fresh user pair in over REST and places and pays an
   order (the REST sample), then runs the scenario with asyncio `websockets` clients (bearer auth)
   and stops the system.
4. Prints one table per scenario: absolute figures, and ECHO's as ratios to the baselines.
   Exit status 1 on any lost, duplicated, reordered or gapped delivery, a stored-row count that
   does not match the accepted sends, a resume client not caught up gap-free, a failed
   connection, or churn whose RSS did not settle, on any ECHO system; never on time. The same
   findings on a baseline (bare, raw, tutorial) are printed apart ("BASELINE LOSSES") and do
   not fail the run: how a baseline breaks under load is what is measured.

Systems: `echo` (this tree), `echo@NAME` (`--compare NAME=PATH`, another work tree, e.g. a git
worktree of the commit before an optimization, measured in the same run; or `--variant
NAME:KEY=VALUE`, this tree with other server environment, bench/variants.py), `bare` (a bare
Channels group_add + group_send consumer, bench/bare_asgi.py, daphne on the same Redis layer),
`raw` (a raw `websockets` broadcast server, bench/raw_server.py), `tutorial` (a Channels chat
written as the Channels tutorial writes it, saving each message with the ORM, on channels-redis's
stock RedisChannelLayer: bench/tutorial/, its own database `<db-name>_tutorial`).

Scenarios (sizes: bench/scenarios.py FULL / QUICK / TINY):
- paced: 500 orders x 2 parties, each party one message every 2 s, 60 s.
- maxrate: 2-party orders, offered rate raised step by step until p99 > 100 ms, a loss, or less
  than 90% of the offered deliveries arrive; reports the highest sustained step. ECHO's senders
  stay under the per-connection limit (20 messages / 10 s), so the highest ECHO step is
  1.6 msg/s x connections.
- fanout: 10 dispute rooms x 50 members (buyer, creator, 48 admins); 5 members of each room send
  20 messages back to back.
- idle: 5,000 connections to one process: RSS per connection, connect time.
- resume: 500 clients reconnect at once with ?after_seq=, 50 messages behind.
- two: paced, maxrate, fanout and resume with two daphne processes (members of a room alternate
  between the processes); `--two-scenarios` picks fewer of them ('' for none). Then the
  efficiency runs (ECHO): a paced load (300 messages/s over 1,000 orders, 30 s) on 1 and 2
  processes, and at half the rate on 1 and 4 (`--processes`, default 1,2,4); CPU seconds per
  1,000 deliveries of every daphne process together, of the database's PostgreSQL backends and
  of Redis (bench/meter.py), as ratios to one process at the same rate.
- shards (ECHO): the same paced load on two processes with the channel layer on one
  redis-server, then on two (CHANNEL_LAYER_REDIS_URLS); CPU per 1,000 deliveries of daphne, each
  redis-server and PostgreSQL.
- churn (only when named, not in `all`; ECHO only): 15 rounds of 20 s, each opening 2,000
  sockets and dropping them (half with a close frame, half by cutting the TCP connection); the
  process's RSS at the end of each round must settle within 10% of its level after round 1.

Server environment (bench/system.py BENCH_ENV): DEBUG=0, a SECRET_KEY, ALLOWED_HOSTS, no TLS
redirect (plain http on 127.0.0.1), JWT_ACCESS_MINUTES=600 (tokens outlive the run) and
AUTH_THROTTLE_RATE raised for the REST sample. The rate limits and LIVE_MAX_SOCKETS_PER_USER stay
as in production: the load is spread over distinct users and orders instead.

Results and the optimizations they led to: docs/benchmarks.md.
"""
