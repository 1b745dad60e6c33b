"""ECHO's settings with the REST baseline's URL added (bench/rest_baseline.py); nothing else."""

from echo_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.rest_baseline"
