"""The lock files are what every install uses (dev.sh, CI, the Procfile's build): they must admit
what pyproject.toml asks for, agree with each other, carry hashes, and be what is installed."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DEV_LOCK = ROOT / "requirements-dev.txt"
RUNTIME_LOCK = ROOT / "requirements.txt"


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> str:
        return next(iter(self.requirement.specifier)).version

    def applies_here(self) -> bool:
        marker = self.requirement.marker
        return marker is None or marker.evaluate()


def read_lock(path: Path) -> list[Pin]:
    text = re.sub(r"\\\n", " ", path.read_text())
    pins = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = tuple(re.findall(r"--hash=(\S+)", line))
        requirement = Requirement(re.sub(r"--hash=\S+", "", line).strip())
        pins.append(Pin(requirement, hashes))
    return pins


def pins_here(path: Path) -> dict[str, Pin]:
    return {canonicalize_name(p.requirement.name): p for p in read_lock(path) if p.applies_here()}


def declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


def test_every_line_is_an_exact_pin_with_hashes() -> None:
    for path in (DEV_LOCK, RUNTIME_LOCK):
        pins = read_lock(path)
        assert len(pins) > 20, path
        for pin in pins:
            specifiers = list(pin.requirement.specifier)
            assert len(specifiers) == 1 and specifiers[0].operator == "==", pin.requirement
            assert pin.hashes and all(h.startswith("sha256:") for h in pin.hashes), pin.requirement


@pytest.mark.parametrize(("lock", "kinds"), [(DEV_LOCK, (0, 1)), (RUNTIME_LOCK, (0,))])
def test_the_lock_admits_every_declared_range(lock: Path, kinds: tuple[int, ...]) -> None:
    """A range changed in pyproject.toml without `./dev.sh lock` fails here."""
    pins = pins_here(lock)
    groups = declared()
    for requirement in (r for kind in kinds for r in groups[kind]):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is declared but not in {lock.name}: ./dev.sh lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock.name} pins {requirement.name}=={pin.version}, outside {requirement}: "
            "./dev.sh lock"
        )


def test_production_takes_the_same_pins_as_development() -> None:
    dev = pins_here(DEV_LOCK)
    runtime = pins_here(RUNTIME_LOCK)
    differing = {
        name: (pin.version, dev[name].version if name in dev else None)
        for name, pin in runtime.items()
        if name not in dev or dev[name].version != pin.version
    }
    assert not differing


@pytest.mark.skipif(
    bool(os.environ.get("ECHO_UNLOCKED_VENV")),
    reason="./dev.sh test --latest runs on the newest releases, not on the lock",
)
def test_what_is_installed_is_the_lock() -> None:
    """./dev.sh installs exactly the dev lock: a package at another version fails here."""
    mismatched = {}
    for name, pin in pins_here(DEV_LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pin.version:
            mismatched[name] = (pin.version, installed)
    assert not mismatched
