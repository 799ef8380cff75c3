"""Every `# type: ignore` in app/ names its error code and says why (same line or above)."""

import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<code>\[[a-z-]+(?:,\s*[a-z-]+)*\])?(?P<rest>.*)$")


def unexplained(lines: list[str]) -> list[int]:
    """Line numbers (from 1) of ignores without a code or without a reason."""
    found = []
    for number, line in enumerate(lines, start=1):
        match = IGNORE.search(line)
        if match is None:
            continue
        previous = lines[number - 2].strip() if number > 1 else ""
        reason = match["rest"].strip().lstrip("#").strip() or previous.startswith("#")
        if not match["code"] or not reason:
            found.append(number)
    return found


def test_every_type_ignore_in_app_names_its_code_and_reason() -> None:
    bad = [
        f"{path.relative_to(APP.parent)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        for number in unexplained(path.read_text().splitlines())
    ]
    assert bad == []


def test_a_bare_or_unexplained_ignore_is_caught() -> None:
    lines = [
        "a = 1  # type: ignore",
        "b = 2  # type: ignore[misc]",
        "c = 3  # type: ignore[misc]  # computed members",
        "# the stub is wrong here",
        "d = 4  # type: ignore[attr-defined]",
    ]
    assert unexplained(lines) == [1, 2]
