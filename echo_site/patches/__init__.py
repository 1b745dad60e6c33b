"""Run-time patches of third-party libraries, each guarded (issue 16, STYLE.md "Dependencies").

One module per patched library (twisted.py, autobahn.py, daphne.py) declares its patches as
`Patch` records: the library and the versions the patch was written and tested for, whether it
is a SPEED patch (the server behaves the same without it, only slower) or a BEHAVIOUR patch
(clients see the difference: the 1009 close, the 4008 close of a slow reader, reason phrases),
a shape check of what it replaces, and the function that applies it.

`apply_all()` runs at start-up (echo_site/serve.py). A patch whose library is outside the tested
range, or whose target is missing or no longer has the expected shape:
- SPEED: is skipped with one warning line (logger `echo_site.patches`); the library runs as
  upstream wrote it;
- BEHAVIOUR: stops start-up (SystemExit naming the library, installed version and tested range)
  rather than serve clients something other than what is documented.
Before anything is applied every patch is checked, so a refused start-up leaves nothing patched.

ECHO_PATCHES_OFF=name,name switches speed patches off (to measure what each buys, bench/ and
docs/benchmarks.md); naming a behaviour patch or an unknown name there stops start-up.

The patched libraries are imported inside the check and apply functions, not at the top of
these modules: importing `daphne.server` installs a Twisted reactor, which must happen only
after serve.py has chosen the event loop, and the patch list (names, ranges, versions) is read
by tests and the system checks in processes that never start Twisted.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

logger = logging.getLogger("echo_site.patches")

SPEED: Literal["speed"] = "speed"
BEHAVIOUR: Literal["behaviour"] = "behaviour"
OFF_ENV = "ECHO_PATCHES_OFF"


class ShapeMismatch(Exception):  # noqa: N818 - a reason, raised by a check and reported
    """What a patch replaces is missing or differs from what the patch was written against."""


@dataclass(frozen=True)
class Patch:
    name: str
    library: str  # the distribution name importlib.metadata knows
    tested: str  # PEP 440 specifier: the versions the patch was written and tested for
    kind: Literal["speed", "behaviour"]
    check: Callable[[], None]  # raises ShapeMismatch
    apply: Callable[[], bool]  # False: nothing to do here (e.g. debug logging is on)
    # Other libraries whose internals the patch reads, with their tested ranges.
    also_tested: dict[str, str] = field(default_factory=dict)

    def ranges(self) -> dict[str, str]:
        return {self.library: self.tested, **self.also_tested}


def installed_version(library: str) -> str | None:
    """The installed version of a distribution, None if it is not installed. Tests replace this
    to simulate another release."""
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None


def version_mismatch(patch: Patch) -> str | None:
    """Why the installed versions are not the tested ones, or None."""
    for library, tested in patch.ranges().items():
        found = installed_version(library)
        if found is None:
            return f"{library} is not installed (tested {tested})"
        try:
            within = Version(found) in SpecifierSet(tested, prereleases=True)
        except InvalidVersion:
            within = False
        if not within:
            return f"{library} {found} is outside the tested range {tested}"
    return None


def mismatch(patch: Patch) -> str | None:
    """Why this patch must not be applied here, or None."""
    reason = version_mismatch(patch)
    if reason is not None:
        return reason
    try:
        patch.check()
    except ShapeMismatch as exc:
        versions = ", ".join(f"{lib} {installed_version(lib)}" for lib in patch.ranges())
        return f"{exc} ({versions}; tested {patch.library} {patch.tested})"
    return None


def all_patches() -> list[Patch]:
    from . import autobahn, daphne, twisted

    return [*twisted.PATCHES, *autobahn.PATCHES, *daphne.PATCHES]


def switched_off(patches: Sequence[Patch]) -> set[str]:
    names = {n.strip() for n in os.environ.get(OFF_ENV, "").split(",") if n.strip()}
    known = {p.name: p for p in patches}
    unknown = sorted(names - set(known))
    if unknown:
        raise SystemExit(
            f"{OFF_ENV} names no such patch: {', '.join(unknown)} "
            f"(speed patches: {', '.join(p.name for p in patches if p.kind == SPEED)})"
        )
    behaviour = sorted(n for n in names if known[n].kind == BEHAVIOUR)
    if behaviour:
        raise SystemExit(
            f"{OFF_ENV}: {', '.join(behaviour)} changes what clients see and cannot be switched off"
        )
    return names


def apply_all(patches: Sequence[Patch] | None = None) -> list[str]:
    """Check every patch, then apply those that fit; the names of the active ones."""
    registry = all_patches() if patches is None else list(patches)
    off = switched_off(registry)
    wanted = [p for p in registry if p.name not in off]
    reasons = {p.name: mismatch(p) for p in wanted}
    refused = [p for p in wanted if p.kind == BEHAVIOUR and reasons[p.name]]
    if refused:
        raise SystemExit(
            "echo_site.patches: refusing to start, a patch that changes what clients see does "
            "not fit the installed libraries:\n"
            + "\n".join(f"- {p.name} ({p.library}): {reasons[p.name]}" for p in refused)
            + "\nUpdate the patch (echo_site/patches/) for this version, or install a tested one."
        )
    active = []
    for patch in wanted:
        reason = reasons[patch.name]
        if reason:
            logger.warning("speed patch %s skipped, upstream code runs: %s", patch.name, reason)
        elif patch.apply():
            active.append(patch.name)
    return active


# --- Shape checks shared by the modules -------------------------------------------------------


def require_callable(owner: Any, name: str, params: Sequence[str]) -> Callable[..., Any]:
    """`owner.name` exists, is callable and takes exactly these parameter names, in order."""
    target = getattr(owner, name, None)
    where = f"{getattr(owner, '__name__', owner)}.{name}"
    if target is None or not callable(target):
        raise ShapeMismatch(f"{where} is missing or not callable")
    try:
        found = list(inspect.signature(target).parameters)
    except (TypeError, ValueError) as exc:
        raise ShapeMismatch(f"{where} has no readable signature ({exc})") from exc
    if found != list(params):
        raise ShapeMismatch(f"{where} takes ({', '.join(found)}), expected ({', '.join(params)})")
    return target  # type: ignore[no-any-return]


def require_attributes(owner: Any, *names: str) -> None:
    missing = [n for n in names if not hasattr(owner, n)]
    if missing:
        where = getattr(owner, "__name__", type(owner).__name__)
        raise ShapeMismatch(f"{where} has no {', '.join(missing)}")
