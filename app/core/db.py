"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Engine, Table, event, false, insert, literal, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, create_engine

from app.core import crypto
from app.core.config import Settings

# Statements each PostgreSQL connection keeps prepared (psycopg prepares one on its fifth run).
# Its default of 100 is fewer than the statements the app runs: the concern rules' large ones
# were evicted before their turn came again, and each run cost 3-5 ms of planning, not 0.5.
PREPARED_MAX = 1000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _enable_sqlite_pragmas(engine: Engine, *, begin: str = "BEGIN") -> None:
    # pysqlite opens transactions lazily and breaks SAVEPOINT semantics; take over BEGIN
    # ourselves (the SQLAlchemy-documented recipe) and switch on foreign keys and WAL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:  # a sqlite3.Connection
        dbapi_connection.isolation_level = None
        # SQLite's lower() folds ASCII only; use Python's so searches match PostgreSQL's.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


def make_engine(settings: Settings, *, writer: bool = False) -> Engine:
    """Builds the engine for the configured database URL, and configures the cipher of the
    private fields for it (app/core/crypto.py).

    hide_parameters: an error's message (logged, and in tracebacks) names the statement but
    never its values, which include reporters' private details.

    On SQLite, `writer=True` gives the single writer connection: one pooled connection whose
    transactions start with BEGIN IMMEDIATE, so writers queue instead of failing with
    "database is locked" when two upgrade a read lock at once.
    """
    # The column types of private fields encrypt with the process-wide cipher: set it for this
    # database before anything is read or written (raises when there is no key).
    crypto.configure_for_engine(settings)
    url = settings.database_url
    if is_sqlite(url):
        in_memory = make_url(url).database in (None, "", ":memory:")
        size = 1 if writer else settings.db_pool_size
        pool_args = {} if in_memory else {"pool_size": size, "max_overflow": 0, "pool_timeout": 30}
        engine = create_engine(
            url,
            echo=settings.echo_sql,
            hide_parameters=True,
            connect_args={"check_same_thread": False},
            **pool_args,
        )
        _enable_sqlite_pragmas(engine, begin="BEGIN IMMEDIATE" if writer else "BEGIN")
        return engine
    # No pre-ping (a round trip on every checkout): a connection lost to a database restart
    # fails its request with a 503, and SQLAlchemy then replaces every older pooled connection.
    engine = create_engine(
        url,
        echo=settings.echo_sql,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=0,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:  # a psycopg.Connection
        dbapi_connection.prepared_max = PREPARED_MAX

    event.listen(engine, "before_execute", _by_copy, retval=True)
    return engine


# Opens a session: the app keeps one for reads and one for writes (app.state.read_sessions /
# write_sessions), for the request's session dependency and for work outside it.
Sessions = Callable[[], AbstractContextManager[Session]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# session.info key: when true, the concern write hook gathers what each flush invalidates and
# applies it once, when the session commits (a bulk import's thousands of flushes).
DEFER_INVALIDATION = "zwr.defer_invalidation"


# Rows at once from which PostgreSQL is sent COPY rather than an executemany of INSERTs.
COPY_FROM = 500
# Execution option of a bulk insert through the session (`bulk_insert`) that PostgreSQL is sent
# by COPY: the session's do_orm_execute listeners see it as the INSERT it is.
BY_COPY = "zwr.by_copy"


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts new rows, each naming the same columns, through the session (whose write hooks
    see the insert, as `inserted_rows`); on PostgreSQL (an engine of `make_engine`) a batch of
    COPY_FROM rows or more goes by COPY, a third of an executemany's cost to the server."""
    if rows:
        statement = insert(table)
        if len(rows) >= COPY_FROM:
            statement = statement.execution_options(**{BY_COPY: True})
        session.execute(statement, list(rows))


def _by_copy(
    connection: Connection,
    statement: Any,
    multiparams: Any,
    params: Any,
    execution_options: Any,
) -> tuple[Any, Any, Any]:
    # A PostgreSQL engine's (make_engine), where the statement is sent, after every session
    # listener has seen it: COPY its rows, and send a statement that does nothing in its place.
    options: Mapping[str, Any] = getattr(statement, "get_execution_options", dict)()
    if not options.get(BY_COPY):
        return statement, multiparams, params
    insert_rows(connection, statement.table, multiparams, bulk=True)
    return select(literal(1)).where(false()), [], {}


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, bulk: bool = False
) -> None:
    """Inserts rows that each name the same columns, by one executemany. A bulk load's
    (`bulk`) many rows go to PostgreSQL by COPY instead (a row-by-row executemany costs the
    server about three times as much), each value through its column type's bind processing
    as in an INSERT. COPY goes past SQLAlchemy's statement events: only bulk loads use it."""
    if not rows:
        return
    if not bulk or connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in names]
    quote = connection.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None, "a connection in a transaction has its DBAPI connection"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        pairs = list(zip(names, processors, strict=True))
        for row in rows:
            copy.write_row([row[n] if p is None else p(row[n]) for n, p in pairs])


def inserted_rows(execute_state: ORMExecuteState, table: str) -> list[dict[str, Any]] | None:
    """The rows of a bulk INSERT into `table` through a session (`session.execute(insert(M),
    rows)`, which no flush sees), for the write hooks' `do_orm_execute` listeners; None for
    any other statement."""
    if not execute_state.is_insert:
        return None
    target = getattr(execute_state.statement, "table", None)
    if getattr(target, "name", None) != table:
        return None
    parameters = execute_state.parameters
    if isinstance(parameters, Mapping):
        return [dict(parameters)]
    return [dict(row) for row in parameters or ()]


@contextmanager
def deferred_invalidation(session: Session) -> Iterator[None]:
    """Within: the concern lists this session's writes touch are invalidated at its commit."""
    session.info[DEFER_INVALIDATION] = True
    try:
        yield
    finally:
        session.info.pop(DEFER_INVALIDATION, None)


def begin_autocommit(session: Session) -> None:
    """Starts the session's work on PostgreSQL on a connection in DBAPI autocommit: for work
    that is one statement, which then costs one round trip, no BEGIN and no COMMIT. Only for
    a session of its own engine that has not begun; any other (SQLite's single writer, the
    tests' sessions inside their own transaction) goes on as it is."""
    bind = session.get_bind()
    if (
        isinstance(bind, Engine)
        and bind.dialect.name == "postgresql"
        and not session.in_transaction()
    ):
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
