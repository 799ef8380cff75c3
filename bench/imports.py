"""Bulk files in: a 100,000-row CITES trade file and a 100,000-animal import, timed.

    python -m bench.imports [--db postgresql|sqlite] [--kind trade|animals] [--rows 100000]

Writes a deterministic file, creates a throwaway database (`zwr_bench_import_<random>` on the
local PostgreSQL, or a file under a temporary directory), migrates and seeds it with the
`zoo-registry` command, then times the command on the file, in a process of its own each time:

* `trade`: `zoo-registry import cites-trade FILE` (the current 16-column layout, a third of
  the quantities empty, blank origins), first import and again (every row unchanged). Target:
  the first import within 30 s.
* `animals`: the zoos (ten), species (a hundred) and enclosures (ten per zoo) the animals name,
  imported first; then `zoo-registry import animals FILE --dry-run`, the import, and the file
  again (every row unchanged). Targets: the dry run and the import at 5,000 rows/s or more each,
  every run under 200 MB.

It prints each run's seconds, rows per second and peak memory, and exits 1 when a target is
missed by more than --target-factor allows (1: not at all; CI tolerates 25% on its shared
machine, where runs differ by up to a fifth, and reports the miss). The database is dropped
afterwards.
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


ZOOS = 10
SPECIES = 100
PENS = 10  # per zoo
SEXES = ("male", "female", "unknown")
STATUSES = ("alive", "alive", "alive", "deceased", "transferred_out")


def write_trade(path: Path, rows: int) -> None:
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


def write_animals(folder: Path, rows: int) -> dict[str, Path]:
    """The zoos, species and enclosures the animals name, and the animals (in that order)."""
    files = {kind: folder / f"{kind}.csv" for kind in ("zoos", "species", "enclosures", "animals")}
    with files["zoos"].open("w", encoding="utf-8") as out:
        out.write("slug,name,country_code\n")
        for z in range(ZOOS):
            out.write(f"bench-zoo-{z},Bench Zoo {z},{COUNTRIES[z % len(COUNTRIES)]}\n")
    with files["species"].open("w", encoding="utf-8") as out:
        out.write("scientific_name,common_name,taxon_class,social_structure,min_area_m2\n")
        for s in range(SPECIES):
            out.write(f"Benchus animal{s},Bench animal {s},mammal,group,{50 + s}\n")
    with files["enclosures"].open("w", encoding="utf-8") as out:
        out.write("zoo,name,kind,area_m2,capacity,climate\n")
        for z in range(ZOOS):
            for e in range(PENS):
                out.write(f"bench-zoo-{z},Pen {e},outdoor,{400 + e * 10},50,temperate\n")
    with files["animals"].open("w", encoding="utf-8") as out:
        out.write(
            "zoo,identifier,species,enclosure,name,sex,count,origin,arrived_on,status,notes\n"
        )
        for i in range(rows):
            day = f"{2000 + i % 25}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            note = "" if i % 4 else f"Seen on the {i % 28 + 1}th; pacing."
            out.write(
                f"bench-zoo-{i % ZOOS},B-{i},Benchus animal{i % SPECIES},Pen {i // ZOOS % PENS},"
                f"Animal {i},{SEXES[i % 3]},1,captive_born,{day},{STATUSES[i % 5]},{note}\n"
            )
    return files


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def peak_child_mb() -> float:
    """The largest peak memory of any child so far (each run is a child of its own)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run(label: str, args: list[str], env: dict[str, str], rows: int) -> tuple[float, float]:
    """Runs the command, prints its figures, and returns its rows per second and peak MB."""
    seconds, said = timed(args, env)
    rate, peak = rows / seconds, peak_child_mb()
    print(f"  {label}: {seconds:.1f} s, {rate:,.0f} rows/s, peak {peak:.0f} MB; {said}")
    return rate, peak


# A target: what, the figure, the limit, whether higher is better.
Target = tuple[str, float, float, bool]


def judge(figure: float, limit: float, higher: bool, factor: float) -> str:
    """PASS at the target; MISS (tolerated) within --target-factor of it; else FAIL."""
    if figure >= limit if higher else figure <= limit:
        return "PASS"
    tolerated = figure >= limit * factor if higher else figure <= limit / factor
    return "MISS (tolerated)" if tolerated else "FAIL"


def bench_trade(tmp: Path, rows: int, env: dict[str, str]) -> list[Target]:
    file = tmp / "comptab.csv"
    write_trade(file, rows)
    print(f"CITES trade import, {rows:,} rows ({file.stat().st_size >> 20} MiB)")
    command = [CLI, "import", "cites-trade", str(file)]
    first, _ = run("first import", command, env, rows)
    run("again (unchanged)", command, env, rows)
    return [("first import, s (at most)", rows / first, 30.0, False)]


def bench_animals(tmp: Path, rows: int, env: dict[str, str]) -> list[Target]:
    files = write_animals(tmp, rows)
    for kind in ("zoos", "species", "enclosures"):
        timed([CLI, "import", kind, str(files[kind])], env)
    size = files["animals"].stat().st_size >> 20
    print(f"animal import, {rows:,} rows ({size} MiB), {ZOOS} zoos, {SPECIES} species")
    command = [CLI, "import", "animals", str(files["animals"])]
    dry, dry_peak = run("dry run", [*command, "--dry-run"], env, rows)
    first, peak = run("first import", command, env, rows)
    run("again (unchanged)", command, env, rows)
    return [
        ("dry run, rows/s (at least)", dry, 5000.0, True),
        ("import, rows/s (at least)", first, 5000.0, True),
        ("peak memory, MB (at most)", max(dry_peak, peak), 200.0, False),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--kind", choices=("trade", "animals"), default="animals")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--target-factor",
        type=float,
        default=1.0,
        help="a figure within this factor of its target is tolerated (CI: a shared machine)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zwr-import-") as tmp:
        name = f"zwr_bench_import_{uuid.uuid4().hex[:8]}"
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
            bench = bench_trade if args.kind == "trade" else bench_animals
            verdicts = bench(Path(tmp), args.rows, env)
        finally:
            if args.db == "postgresql":
                with server.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                server.dispose()
    said = [
        judge(figure, limit, higher, args.target_factor) for _, figure, limit, higher in verdicts
    ]
    for (what, figure, limit, _), verdict in zip(verdicts, said, strict=True):
        print(f"  target: {what} {limit:,.0f}: {figure:,.1f}: {verdict}")
    return 1 if "FAIL" in said else 0


if __name__ == "__main__":
    sys.exit(main())
