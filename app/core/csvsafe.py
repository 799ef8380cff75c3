"""CSV that a spreadsheet opens as data: text cells cannot start a formula (CSV injection).

Every CSV the service writes goes through `writer`. A text cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return is prefixed with a single quote, as OWASP advises, so Excel,
LibreOffice and Google Sheets show it as text instead of evaluating it. Numbers (int, float)
are written as they are: they cannot hold a formula. Text that happens to look like a
negative number ("-5") is still text and is prefixed too: the service writes its numbers as
numbers, so a leading `-` in text came from someone's input and is not trusted.

The quote can be taken off again (`restore`, for a file read back by the import): text whose
leading quotes are followed by a formula's first character gets one quote more, so that
`'=x` (written `''=x`) comes back as itself and `'hello` is left alone both ways.
"""

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def _quoted_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_PREFIXES)


def neutralise(value: Any) -> Any:
    """The cell as written: text that could start a formula gets a leading quote."""
    if isinstance(value, str) and _quoted_formula(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """A neutralised cell as it was before `neutralise` (any other text as it is)."""
    if text.startswith("'") and _quoted_formula(text):
        return text[1:]
    return text


class SafeWriter:
    """csv.writer's writerow and writerows, with every text cell neutralised."""

    def __init__(self, out: _Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Writable, **options: Any) -> SafeWriter:
    """A CSV writer for `out` whose text cells cannot be read as formulas."""
    return SafeWriter(out, **options)
