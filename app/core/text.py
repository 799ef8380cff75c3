"""The text rules of request bodies, as character classes shared by the validation
(app/models/base.py) and the OpenAPI document (app/core/openapi.py), so both say the same.

* No text may hold NUL or other control characters (tab, newline and carriage return are
  allowed), nor bidirectional embedding, override or isolate controls (U+202A-U+202E,
  U+2066-U+2069): they make text display in another order than it is stored ("Trojan Source").
* A name or a title (a field called `name` or `title`, or ending in `_name` or `_title`) must
  show something: whitespace and invisible characters alone (zero-width spaces, joiners, the
  BOM, Hangul fillers, variation selectors) are refused. Only the Basic Multilingual Plane is
  listed, which a JSON Schema pattern can state without the `u` flag.
"""

import re

CONTROL_CHARS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
# Whitespace (str.isspace) and the format or filler characters that render as nothing.
INVISIBLE = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5"
    r"\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f"
    r"\ufeff\uffa0\ufff9-\ufffb"
)

BODY_TEXT_PATTERN = f"^[^{CONTROL_CHARS}{BIDI_CONTROLS}]*$"
DISPLAY_TEXT_PATTERN = (
    f"^[^{CONTROL_CHARS}{BIDI_CONTROLS}]*"
    f"[^{CONTROL_CHARS}{BIDI_CONTROLS}{INVISIBLE}]"
    f"[^{CONTROL_CHARS}{BIDI_CONTROLS}]*$"
)

_CONTROL = re.compile(f"[{CONTROL_CHARS}]")
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_VISIBLE = re.compile(f"[^{INVISIBLE}]")

CONTROL_MESSAGE = "text may not contain NUL or other control characters"
BIDI_MESSAGE = (
    "text may not contain bidirectional override or isolate characters "
    "(U+202A-U+202E, U+2066-U+2069)"
)
INVISIBLE_MESSAGE = "must show something: not only spaces or invisible characters"


def is_display_field(name: str) -> bool:
    """Whether a body field is a name or a title, shown as the label of what it names."""
    return name in ("name", "title") or name.endswith(("_name", "_title"))


def has_control_chars(value: str) -> bool:
    return _CONTROL.search(value) is not None


def has_bidi_controls(value: str) -> bool:
    return _BIDI.search(value) is not None


def shows_nothing(value: str) -> bool:
    return _VISIBLE.search(value) is None
