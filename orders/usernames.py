"""What a new username may be: the rules `services.user_register` applies for every client.

- NFKC-normalised (fullwidth and other compatibility forms become their plain letters);
- 3 to 150 characters, letters, digits and @/./+/-/_ only;
- no invisible, control, private-use or bidi-override characters (named as such in the error);
- not confusable with an existing username: both names reduce to the same skeleton.

The skeleton follows Unicode TS #39: each character is replaced by a representative of its
confusable class, from the Unicode confusables data shipped by `confusable-homoglyphs` (its
`confusables_data`, the source->prototype pairs of confusables.txt in both directions; joined
into classes here, so the direction of a pair does not matter). Characters confusable with a
sequence ("m" and "rn") become that sequence. Case is ignored as well, so "aIice", "ALICE" and
"a1ice" all collide with "alice".

Existing usernames that break a rule keep working: nothing here runs at sign-in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from confusable_homoglyphs import confusables

MIN_LENGTH = 3
MAX_LENGTH = 150
_ALLOWED = re.compile(r"[\w.@+-]+\Z")
# Categories that render as nothing, steer the text direction, or are not characters at all.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"}
_MARKS = "\u200e\u200f"  # the data wraps right-to-left homoglyphs in these


class UsernameRejected(ValueError):
    """The reason a name can't be registered, for the client."""


@cache
def _classes() -> tuple[dict[str, str], dict[str, str]]:
    """(character -> representative of its class, character -> the sequence it looks like)."""
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        root = char
        while parent.get(root, root) != root:
            root = parent[root]
        parent[char] = root
        return root

    sequences: dict[str, str] = {}
    for char, glyphs in confusables.confusables_data.items():
        for glyph in glyphs:
            other = glyph["c"].strip(_MARKS)
            if len(other) == 1:
                a, b = find(char), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            elif other and len(glyphs) == 1:
                sequences[char] = other
    return {char: find(char) for char in parent}, sequences


def _map(text: str) -> str:
    classes, sequences = _classes()
    out = []
    for char in unicodedata.normalize("NFD", text):
        for part in sequences.get(char, char):
            out.append(classes.get(part, part))
    return unicodedata.normalize("NFD", "".join(out)).casefold()


def skeletons(username: str) -> frozenset[str]:
    """The forms two names share when one can pass for the other."""
    name = unicodedata.normalize("NFKC", username)
    return frozenset({_map(name), _map(name.casefold())})


def normalize(raw: str) -> str:
    """The username to store, or UsernameRejected with the reason."""
    name = unicodedata.normalize("NFKC", raw.strip())
    if any(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in name):
        raise UsernameRejected(
            "Invisible, control, space or text-direction characters are not allowed."
        )
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        raise UsernameRejected(f"Between {MIN_LENGTH} and {MAX_LENGTH} characters.")
    if not _ALLOWED.match(name):
        raise UsernameRejected("Letters, digits and @/./+/-/_ only.")
    return name


def confusable_with_any(username: str, existing: Iterable[str]) -> bool:
    mine = skeletons(username)
    return any(mine & skeletons(other) for other in existing)
