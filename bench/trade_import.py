"""Importing a CITES trade file: a 100,000-row comparative tabulation within 30 s.

    python -m bench.trade_import [--db postgresql|sqlite] [--rows 100000] [--target-s 30]

Writes a deterministic file of distinct rows (the current 16-column layout, a third of the
quantities empty, blank origins), creates a throwaway database (`zwr_bench_trade_<random>` on
the local PostgreSQL, or a file under a temporary directory), migrates and seeds it with the
`zoo-registry` command, then times `zoo-registry import cites-trade FILE` twice: the first
import (every row created) and the same file again (every row unchanged). It prints the
seconds, rows per second and the command's peak memory of each, and exits 1 when the first
import takes longer than --target-s. The database is dropped afterwards.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HEADER = (
    "Year,App.,Taxon,Class,Order,Family,Genus,Importer,Exporter,Origin,"
    "Importer reported quantity,Exporter reported quantity,Term,Unit,Purpose,Source\n"
)
COUNTRIES = ("RU", "KP", "CN", "US", "GB", "JP", "CH", "ZA", "FR", "DE", "IN", "BR", "KE", "TH")
TERMS = ("live", "skins", "bodies", "trophies", "eggs")
CLI = str(Path(sys.executable).with_name("zoo-registry"))
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def write_file(path: Path, rows: int) -> None:
    """Distinct rows: the taxon changes every row of a year, the countries and term cycle."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            year = 1990 + i % 34
            importer = COUNTRIES[i % len(COUNTRIES)]
            exporter = COUNTRIES[(i // len(COUNTRIES) + 1 + i) % len(COUNTRIES)]
            if exporter == importer:
                exporter = "XX"  # the Trade Database's code for an unknown country
            imported = "" if i % 3 == 0 else str(1 + i % 40)
            exported = "" if i % 3 == 1 else str(1 + i % 25)
            out.write(
                f"{year},II,Benchus taxon{i // 34},Mammalia,Carnivora,Felidae,Benchus,"
                f"{importer},{exporter},,{imported},{exported},{TERMS[i % len(TERMS)]},,Z,C\n"
            )


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def peak_child_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--target-s", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zwr-trade-") as tmp:
        file = Path(tmp) / "comptab.csv"
        write_file(file, args.rows)
        name = f"zwr_bench_trade_{uuid.uuid4().hex[:8]}"
        if args.db == "sqlite":
            url = f"sqlite:///{tmp}/{name}.db"
        else:
            url = str(make_url(PG_SERVER).set(database=name).render_as_string(False))
            server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
            with server.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        env = os.environ | {"ZWR_DATABASE_URL": url}
        env.setdefault("ZWR_SECRET_KEY", Fernet.generate_key().decode())
        try:
            for step in (["db", "upgrade"], ["seed"]):
                timed([CLI, *step], env)
            print(f"trade import, {args.db}, {args.rows:,} rows ({file.stat().st_size >> 20} MiB)")
            first_s = 0.0
            for what in ("first import", "again (unchanged)"):
                seconds, said = timed([CLI, "import", "cites-trade", str(file)], env)
                first_s = first_s or seconds
                print(
                    f"  {what}: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, "
                    f"peak {peak_child_mb():.0f} MB so far; {said}"
                )
        finally:
            if args.db == "postgresql":
                with server.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                server.dispose()
    verdict = "PASS" if first_s <= args.target_s else "FAIL"
    print(f"  target: first import within {args.target_s:g} s: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
