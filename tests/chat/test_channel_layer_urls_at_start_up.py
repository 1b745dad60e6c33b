"""CHANNEL_LAYER_REDIS_URLS is checked when the settings load: without REDIS_URL, or with one
Redis server listed twice, or with something that is not a Redis URL, every process refuses to
start with one line that names the problem and never echoes a URL (it may hold a password)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW_HOSTS = (
    "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'])"
)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "CHANNEL_LAYER_REDIS_URLS", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ECHO refuses to start: CHANNEL_LAYER_REDIS_URLS")
    return lines[0]


def test_shards_without_redis_url_refuse_to_start():
    result = manage(
        "check",
        env={"CHANNEL_LAYER_REDIS_URLS": "redis://127.0.0.1:6390/0,redis://127.0.0.1:6391/0"},
    )
    assert "REDIS_URL is not" in refusal(result)


@pytest.mark.parametrize(
    ("urls", "named"),
    [
        ("redis://127.0.0.1:6390/0,redis://127.0.0.1:6390/0", "127.0.0.1:6390"),
        # Pub/sub is server-wide: another database number is the same shard.
        (
            "redis://:s3cret@127.0.0.1:6390/0,redis://127.0.0.1:6391,rediss://127.0.0.1:6390/3",
            "127.0.0.1:6390",
        ),
        ("redis://Redis-A.example:6379/0,redis://redis-a.example/1", "redis-a.example:6379"),
        ("unix:///run/redis.sock,unix:///run/redis.sock?db=2", "unix:/run/redis.sock"),
    ],
)
def test_one_server_listed_twice_refuses_to_start(urls, named):
    result = manage(
        "check", env={"REDIS_URL": "redis://127.0.0.1:6390/1", "CHANNEL_LAYER_REDIS_URLS": urls}
    )
    line = refusal(result)
    assert f"the Redis server {named} twice" in line
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://:s3cret@127.0.0.1:6390/0", "entry 2 is not a redis://"),
        ("redis://:s3cret@127.0.0.1:port/0", "entry 2 is a Redis URL with a port that is not"),
        ("127.0.0.1", "entry 2 is not a redis://"),
    ],
)
def test_what_is_not_a_redis_url_refuses_to_start_without_echoing_it(url, problem):
    result = manage(
        "check",
        env={
            "REDIS_URL": "redis://127.0.0.1:6390/1",
            "CHANNEL_LAYER_REDIS_URLS": f"redis://127.0.0.1:6391/0,{url}",
        },
    )
    assert problem in refusal(result)
    assert "s3cret" not in result.stderr


def test_distinct_servers_become_the_layers_hosts_in_the_order_given():
    urls = ["redis://127.0.0.1:6391/0", "redis://127.0.0.1:6390/0"]
    result = manage(
        "shell",
        "-c",
        SHOW_HOSTS,
        env={"REDIS_URL": "redis://127.0.0.1:6390/1", "CHANNEL_LAYER_REDIS_URLS": " , ".join(urls)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr(urls)


def test_without_the_setting_the_layer_is_redis_url_alone():
    result = manage("shell", "-c", SHOW_HOSTS, env={"REDIS_URL": "redis://127.0.0.1:6390/1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr(["redis://127.0.0.1:6390/1"])
