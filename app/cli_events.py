"""`zoo-registry events tail`: follows the change feed (GET /api/v1/events) of a running
server over HTTP, printing each event on one line. Only an HTTP client: it imports nothing
of the app, so it runs against any server."""

import json
import os
import sys
import time
from typing import Any, NoReturn

import httpx
import typer

events_cli = typer.Typer(help="The change feed of a running server.", no_args_is_help=True)

FEED = "/api/v1/events"
PAGE = 1000  # the feed's largest page
RETRY_S = (1.0, 2.0, 5.0)  # waits between attempts to reach the server; the last repeats


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


def _problem(response: httpx.Response) -> str:
    """The problem's detail (RFC 9457) and its field errors, or the status when the body is
    not a problem (a proxy's page)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return f"HTTP {response.status_code} {response.reason_phrase} from {response.url}"
    lines = [body["detail"]]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            where = ".".join(map(str, error.get("location", [])))
            lines.append(f"  {where}: {error.get('message', '')}")
    return "\n".join(lines)


class Feed:
    """Pages of the feed, filtered; waits out a server that cannot be reached."""

    def __init__(self, client: httpx.Client, types: list[str], zoo: str | None) -> None:
        self.client = client
        self.where = str(client.base_url).rstrip("/")
        self.filters: dict[str, str | list[str]] = {"type": types} if types else {}
        if zoo is not None:
            self.filters["zoo_id"] = zoo

    def page(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str]:
        params = self.filters | {"limit": str(limit)} | ({"after": after} if after else {})
        attempt = 0
        while True:
            try:
                response = self.client.get(FEED, params=params)
                break
            except httpx.TransportError as exc:
                wait = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                reason = str(exc) or type(exc).__name__
                typer.echo(
                    f"events: cannot reach {self.where} ({reason}); retrying in {wait:g} s",
                    err=True,
                )
                time.sleep(wait)
                attempt += 1
        if attempt:
            typer.echo(f"events: reached {self.where} again", err=True)
        if response.is_error:
            _fail(_problem(response))
        body = response.json()
        return body["items"], body["next"]

    def head(self) -> str:
        """The cursor of the feed's current end."""
        after: str | None = None
        while True:
            items, after = self.page(after, PAGE)
            if len(items) < PAGE:
                return after


def line(event: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    zoo = "-" if event.get("zoo_id") is None else event["zoo_id"]
    return (
        f"{event['occurred_at']} {event['id']} {event['type']} zoo={zoo} "
        f"{event['subject_type']}/{event['subject_id']}"
    )


def _check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise typer.BadParameter(str(exc), param_hint="--url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--url")
    return url.rstrip("/")


@events_cli.command("tail")
def tail(
    url: str = typer.Option(
        "http://127.0.0.1:8000", envvar="ZWR_API_URL", help="The server (ZWR_API_URL)."
    ),
    after: str | None = typer.Option(None, help="Start after this event id (a cursor)."),
    from_start: bool = typer.Option(False, "--from-start", help="Start at the first event."),
    type_: list[str] = typer.Option(None, "--type", help="Only this event type; repeat."),
    zoo: str | None = typer.Option(None, help="Only this zoo's events (id or slug)."),
    poll: float = typer.Option(1.0, min=0.0, help="Seconds between polls when up to date."),
    as_json: bool = typer.Option(False, "--json", help="Each event as JSON (NDJSON)."),
    limit: int | None = typer.Option(None, min=1, help="Stop after this many events."),
) -> None:
    """Prints the feed's events as they come, one a line (events on stdout, status on
    stderr): by default only new ones, from the feed's current end; runs until Ctrl-C."""
    if after is not None and from_start:
        raise typer.BadParameter("give --after or --from-start, not both", param_hint="--after")
    base_url = _check_url(url)
    try:
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            feed = Feed(client, type_ or [], zoo)
            cursor = None if from_start else after or feed.head()
            typer.echo(f"events: following {base_url} after {cursor or 'the start'}", err=True)
            left = limit
            while left is None or left > 0:
                size = PAGE if left is None else min(PAGE, left)
                items, cursor = feed.page(cursor, size)
                for event in items:
                    typer.echo(line(event, as_json))
                if left is not None:
                    left -= len(items)
                if len(items) < size and left != 0:
                    time.sleep(poll)
    except KeyboardInterrupt:
        typer.echo("events: stopped", err=True)
    except BrokenPipeError:
        # The reader left (`| head`): no more output, and no complaint at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
