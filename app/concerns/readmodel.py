"""The concern read model: the one object through which the app reads concerns. It holds
what a read needs (sessions, settings, the rendered-list cache, the zoo stamps) so routes,
pages and the fast path ask it, and never assemble one themselves."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.concerns import lists, ranking, stamps, store, timeline
from app.concerns.lists import Filters
from app.concerns.ranking import Stamp as RankingStamp
from app.concerns.rules import Context
from app.concerns.schemas import (
    ConcernItem,
    ConcernRulePublic,
    TimelineDay,
)
from app.concerns.stamps import SharedReads, StampReader, ZooStamp
from app.core.config import Settings
from app.core.db import Sessions
from app.core.lru import LRUCache
from app.core.rendered import Kept, Rendered, not_modified, weak_etag
from app.models import Animal
from app.models.base import row_id, utcnow
from app.models.page import Page


@dataclass(frozen=True)
class ListRequest:
    filters: Filters
    limit: int | None  # None: the whole list (a CSV download)
    offset: int
    as_csv: bool


# A raw request (zoo ref, query string, Accept header) already answered with a 200. The same
# bytes validate the same way, so its answer can be given again without parsing them.
RequestAlias = tuple[str, str, bytes, str | None]
# A page of the ranking: its tag, the country filter, limit and offset.
RankingPage = tuple[str, str | None, int, int]
# What an entry costs beyond the bytes of its key and body: the tuples, the Rendered, the
# OrderedDict slot (measured with sys.getsizeof on CPython 3.11, rounded up).
ENTRY_OVERHEAD = 512


def request_alias(ref: str, query_string: bytes, accept: str | None) -> RequestAlias:
    return ("request", ref, query_string, accept)


def _alias_size(alias: RequestAlias) -> int:
    """The alias's own memory: it shares the rendered body, but its key is the raw request."""
    return ENTRY_OVERHEAD + len(alias[1]) + len(alias[2]) + len(alias[3] or "")


class ConcernReadModel:
    def __init__(self, settings: Settings, reads: Sessions, writes: Sessions) -> None:
        self.settings = settings
        self.reads = reads
        self.writes = writes  # brings stored flags up to date (SQLite's single writer)
        self.cache = LRUCache(int(settings.concern_cache_mb * 1024 * 1024))
        self._stamps = StampReader()
        self._ranking_stamps = SharedReads(self._ranking_stamp)
        self._ranking_pages = SharedReads(self._render_ranking)

    async def zoo_list(
        self,
        ref: str,
        request: ListRequest,
        *,
        if_none_match: str | None = None,
        alias: RequestAlias | None = None,
    ) -> Rendered:
        """The zoo's list as the response body, from the cache while nothing it depends on
        changed. A hit costs a share of one batched read of the zoos' concern_version, on the
        event loop; only a miss takes a worker thread and a session. With `alias`, the raw
        request is remembered too, so `repeated` can answer it again before routing."""
        zoo = await self._stamps.get_zoo(ref, self.reads)
        key = lists.list_key(zoo)
        tag = weak_etag(key, request)
        if (unchanged := not_modified(if_none_match, tag)) is not None:
            return unchanged
        kept: Kept | None = self.cache.get(tag)
        if kept is None:
            rendered = await run_in_threadpool(self._render, zoo, request, tag)
            kept = Kept.of(rendered)
            self.cache.put(tag, kept, size=ENTRY_OVERHEAD + len(tag) + len(kept.packed))
        else:
            rendered = kept.opened()
        if alias is not None:
            self.cache.put(alias, (key, kept), size=_alias_size(alias))
        return rendered

    async def repeated(self, alias: RequestAlias, if_none_match: str | None) -> Rendered | None:
        """The answer to a request seen before, if the zoo's list has not changed since; None
        when it must go the whole way (never seen, stale, unknown zoo, the database failing)."""
        entry: tuple[str, Kept] | None = self.cache.get(alias)
        if entry is None:
            return None
        key, kept = entry
        return await self._if_current(alias[1], key, kept, if_none_match)

    async def _if_current(
        self, ref: str, key: str, kept: Kept, if_none_match: str | None
    ) -> Rendered | None:
        """The kept answer (or its 304) while the zoo's list key is still `key`; else None."""
        try:
            zoo = await self._stamps.get_zoo(ref, self.reads)
        except Exception:  # the route answers with the right problem document
            return None
        if lists.list_key(zoo) != key:
            return None
        return not_modified(if_none_match, kept.etag) or kept.opened()

    def _render(self, zoo: ZooStamp, request: ListRequest, tag: str) -> Rendered:
        # The flags are read after the version was: the body is at least as new as its key.
        with self.reads() as session:
            if not request.as_csv and request.limit is not None:
                # Stored items are JSON, validated when stored: sent as they are, in Page's shape.
                items, total = lists.stored_page(
                    session=session,
                    settings=self.settings,
                    zoo_id=zoo.id,
                    filters=request.filters,
                    offset=request.offset,
                    limit=request.limit,
                    writer=self.writes,
                )
                body = (
                    f'{{"items":[{",".join(items)}],"total":{total},'
                    f'"limit":{request.limit},"offset":{request.offset}}}'
                )
                return Rendered(body.encode(), "application/json", tag)
            window, _ = lists.zoo_concerns_page(
                session=session,
                settings=self.settings,
                zoo=zoo,
                filters=request.filters,
                offset=request.offset,
                limit=request.limit,
                writer=self.writes,
            )
        filename = f"{zoo.slug}-concerns-{utcnow().date().isoformat()}.csv"
        return Rendered(
            lists.to_csv(zoo, window).encode(), "text/csv; charset=utf-8", tag, filename
        )

    async def animal_answer(
        self, session: Session, animal: Animal, if_none_match: str | None = None
    ) -> Rendered:
        """One animal's flags as the response body, read in the request's session (which
        loaded the animal: a second connection per request would wait on the pool, whose
        size is the admission's). Its zoo's stamp is read first, in the same session, so the
        body is at least as new as the key it is remembered with: `repeated_animal` answers
        the same request again before routing while that key holds (the animal's own change,
        or its move, changes it too)."""
        ref, key, rendered = await run_in_threadpool(
            self._animal_answer, session, animal, if_none_match
        )
        if not rendered.not_modified:
            kept = Kept.of(rendered)
            alias = ("animal", row_id(animal))
            self.cache.put(alias, (ref, key, kept), size=ENTRY_OVERHEAD + len(kept.packed))
        return rendered

    def _animal_answer(
        self, session: Session, animal: Animal, if_none_match: str | None
    ) -> tuple[str, str, Rendered]:
        ref = str(animal.zoo_id)
        key = lists.list_key(stamps.fetch_in(session, [ref])[ref])  # the animal's zoo exists
        tag = weak_etag(key, "animal", animal.id)
        if (unchanged := not_modified(if_none_match, tag)) is not None:
            return ref, key, unchanged
        body = self.animal(session, animal).model_dump_json().encode()
        return ref, key, Rendered(body, "application/json", tag)

    async def repeated_animal(self, animal_id: int, if_none_match: str | None) -> Rendered | None:
        """`repeated` for one animal's flags."""
        entry: tuple[str, str, Kept] | None = self.cache.get(("animal", animal_id))
        if entry is None:
            return None
        return await self._if_current(*entry, if_none_match)

    def animal(self, session: Session, animal: Animal) -> ConcernItem:
        """One animal's flags, from its zoo's stored flags; score 0 and no flags when it has
        none."""
        item = lists.stored_animal(
            session=session, settings=self.settings, animal=animal, writer=self.writes
        )
        return item or lists.unflagged_item(session=session, animal=animal)

    async def ranking(
        self,
        country_code: str | None,
        limit: int,
        offset: int,
        *,
        if_none_match: str | None = None,
    ) -> Rendered:
        """A page of every zoo ranked by concern, from the zoos' stored totals, brought up to
        date first, so exact for every write committed before the call. Cached as the lists
        are: while the stamp of every zoo (app/concerns/ranking.py) is the same, the page is
        sent again as rendered."""
        current = await self._ranking_stamps.get("all", self.reads)
        tag = weak_etag("ranking", current, country_code, limit, offset)
        if (unchanged := not_modified(if_none_match, tag)) is not None:
            return unchanged
        rendered = self.cache.get(tag) or await self._ranking_pages.get(
            (tag, country_code, limit, offset), self.reads
        )
        assert rendered is not None  # every page asked is rendered
        return rendered

    def _ranking_stamp(self, sessions: Sessions, keys: list[str]) -> dict[str, RankingStamp]:
        """The stamp of every zoo, once the zoos behind are brought up to date. Concurrent
        requests share one call (and so one update of each zoo), begun after they arrived."""
        with sessions() as session:
            current = ranking.stamp(session, self.settings, utcnow())
            if current.behind:
                stale = ranking.stale(session, self.settings, utcnow())
                session.commit()  # SQLite: the updates must not wait on this snapshot
                self.refresh(stale)
                current = ranking.stamp(session, self.settings, utcnow())
        return dict.fromkeys(keys, current)

    def _render_ranking(
        self, sessions: Sessions, pages: list[RankingPage]
    ) -> dict[RankingPage, Rendered]:
        """The pages asked while the last were rendered, each once however many asked it."""
        rendered: dict[RankingPage, Rendered] = {}
        with sessions() as session:
            for page in pages:
                tag, country_code, limit, offset = page
                done: Rendered | None = self.cache.get(tag)
                if done is None:
                    # Read after the stamp was: the body is at least as new as its tag.
                    items, total = ranking.page(session, country_code, limit, offset)
                    body = Page(items=items, total=total, limit=limit, offset=offset)
                    done = Rendered(body.model_dump_json().encode(), "application/json", tag)
                    self.cache.put(tag, done, size=ENTRY_OVERHEAD + len(tag) + len(done.body))
                rendered[page] = done
        return rendered

    def timeline(
        self, session: Session, zoo_id: int, days: int, today: date | None = None
    ) -> list[TimelineDay]:
        """In the caller's session: a route that loaded the zoo holds its connection, and a
        second one per request could wait on the pool for ever (its size is the admission's)."""
        return timeline.days(session, zoo_id, days, today or utcnow().date())

    def rules(self) -> list[ConcernRulePublic]:
        return lists.rules(settings=self.settings)

    def refresh(self, zoo_ids: Sequence[int], now: datetime | None = None) -> None:
        """Brings the zoos' stored flags up to date, one transaction each (the worker's job;
        a read does it too when it finds a zoo stale)."""
        for zoo_id in zoo_ids:
            with self.writes() as session:
                store.update(session, Context(self.settings, zoo_id, now or utcnow()))
                session.commit()
