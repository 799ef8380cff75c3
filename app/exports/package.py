"""The data package: its descriptor (datapackage.json) and one CSV per resource, written into
a folder or streamed as a zip.

Every zoo's concern flags are brought up to date first, through the concern read model; then
every resource is read in one read-only transaction (REPEATABLE READ on PostgreSQL, SQLite's
snapshot), so the files agree with each other (every foreign key holds) whatever is written
meanwhile. The zip is written as it is read, to an unseekable sink emptied every
`CHUNK` bytes, with datapackage.json first, so a reader gets its first bytes at once and
neither side holds the package in memory.
"""

import io
import json
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlmodel import Session

from app.concerns import ConcernReadModel
from app.core.db import Sessions
from app.exports import rows
from app.exports.resources import RESOURCES, ZOO
from app.exports.schema import NEUTRALISED
from app.models.base import utcnow

DESCRIPTOR = "datapackage.json"
CHUNK = 256 * 1024
# Deflate's fastest level: the bench's CSV shrinks 8.5-fold (6: 12-fold) in a third of the time.
COMPRESS_LEVEL = 1
LICENSE = {
    "name": "ODC-By-1.0",
    "path": "https://opendatacommons.org/licenses/by/1-0/",
    "title": "Open Data Commons Attribution License v1.0",
}

# Called after each resource with its name and the rows written.
Progress = Callable[[str, int], None]


def descriptor(created: datetime) -> dict[str, Any]:
    """datapackage.json: the package, its licence, and each resource's Table Schema."""
    return {
        "profile": "tabular-data-package",
        "name": "zoo-welfare-registry",
        "title": "Zoo Welfare Registry",
        "description": "The whole public registry: zoos, species and their dated listings, "
        "enclosures, gifts, animals and their movements, welfare incidents, reports (never the "
        "reporters' private details), the incidents' audit trails and the zoos' replies, every "
        "zoo's concern flags, CITES trade records and countries. Files refer to each other by "
        f"id (each schema's foreignKeys). {NEUTRALISED}",
        "created": created.isoformat().replace("+00:00", "Z"),
        "licenses": [LICENSE],
        "resources": [r.descriptor() for r in RESOURCES],
    }


def _descriptor_bytes(created: datetime) -> bytes:
    return (json.dumps(descriptor(created), indent=2, ensure_ascii=False) + "\n").encode()


def zip_filename(created: datetime) -> str:
    return f"zoo-registry-{created.date().isoformat()}.zip"


def _refresh_concerns(reads: Sessions, concerns: ConcernReadModel) -> None:
    """Brings every zoo's stored flags up to date (a current zoo costs a lock and a read)."""
    with reads() as session:
        zoo_ids = list(session.execute(select(ZOO.c.id).order_by(ZOO.c.id)).scalars())
    concerns.refresh(zoo_ids)


@contextmanager
def _snapshot(reads: Sessions) -> Iterator[Connection]:
    """One read-only transaction that every resource is read in."""
    with reads() as session:
        yield _read_only(session)


def _read_only(session: Session) -> Connection:
    bind = session.get_bind()
    if (
        isinstance(bind, Engine)
        and bind.dialect.name == "postgresql"
        and not session.in_transaction()
    ):
        return session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    return session.connection()  # SQLite's reads see one snapshot; a test's own transaction


def _last(counts: Iterator[int]) -> int:
    count = 0
    for count in counts:  # noqa: B007 - the last one is the total
        pass
    return count


def write_package(
    directory: Path,
    reads: Sessions,
    concerns: ConcernReadModel,
    *,
    progress: Progress | None = None,
) -> None:
    """Writes the package into `directory` (created if missing): the resources' CSV files,
    then datapackage.json, so that a folder with a descriptor holds the whole package."""
    created = utcnow()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DESCRIPTOR).unlink(missing_ok=True)  # an earlier export's, until this one ends
    _refresh_concerns(reads, concerns)
    with _snapshot(reads) as connection:
        for resource in RESOURCES:
            path = directory / resource.path
            with path.open("w", encoding="utf-8", newline="") as out:
                written = _last(rows.write(resource, connection, out))
            if progress is not None:
                progress(resource.name, written)
    (directory / DESCRIPTOR).write_bytes(_descriptor_bytes(created))


class _Sink:
    """An unseekable file the zip is written to, emptied by `take`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def stream_zip(
    reads: Sessions, concerns: ConcernReadModel, *, created: datetime | None = None
) -> Generator[bytes, None, None]:
    """The package as a zip, in chunks of about CHUNK bytes: datapackage.json first (before
    any database work), then each resource's CSV."""
    created = created or utcnow()
    sink = _Sink()
    with zipfile.ZipFile(
        sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as archive:
        archive.writestr(DESCRIPTOR, _descriptor_bytes(created))
        yield sink.take()
        _refresh_concerns(reads, concerns)
        with _snapshot(reads) as connection:
            for resource in RESOURCES:
                # The size is unknown until written: ZIP64 sizes, in case it passes 4 GiB.
                with (
                    archive.open(resource.path, "w", force_zip64=True) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8", newline="") as out,
                ):
                    for _ in rows.write(resource, connection, out):
                        if sink.size >= CHUNK:
                            yield sink.take()
    yield sink.take()  # the rest, and the central directory
