"""Webhooks through the API and the worker, against a real HTTP receiver: the secret shown
once, the URL checks (at creation and, after DNS, at every delivery), scopes, signatures that
the `standardwebhooks` package verifies, retries under the same webhook-id, the deliveries
log, disabling after the limit with a notice to the admins, pausing, types and test messages."""

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from app.core.config import Settings
from app.main import create_app
from app.models.api_key import Role
from app.models.base import utcnow
from app.webhooks import WebhookWorker
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer, post_report
from tests.dbutil import share_session
from tests.factories import make_key, make_zoo
from tests.webhooks.receiver import Receiver, receiving
from tests.welfare.test_history import shared

HOOKS = "/api/v1/webhooks"
PUBLIC_ADDRESS = "93.184.216.34"


@pytest.fixture
def open_settings(settings: Settings) -> Settings:
    """http and 127.0.0.1 allowed, for the local receiver; no retries unless a test says."""
    return settings.model_copy(
        update={
            "webhook_allow_insecure": True,
            "webhook_allow_private": True,
            "webhook_retry_schedule": "",
        }
    )


@pytest.fixture
def open_app(open_settings: Settings, session: Session) -> Iterator[FastAPI]:
    app = create_app(open_settings)
    share_session(app, session)
    yield app
    app.state.engine.dispose()
    app.state.write_engine.dispose()


@pytest.fixture
def hooks(open_app: FastAPI, admin_key: str) -> Iterator[TestClient]:
    """An admin client of the app that may send to the local receiver."""
    with TestClient(open_app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


MakeWorker = Callable[..., WebhookWorker]


@pytest.fixture
def worker(open_settings: Settings, session: Session) -> Iterator[MakeWorker]:
    made: list[WebhookWorker] = []

    def make(clock: Callable[[], datetime] = utcnow, **settings: Any) -> WebhookWorker:
        made.append(
            WebhookWorker(open_settings.model_copy(update=settings), shared(session), clock=clock)
        )
        return made[-1]

    yield make
    for w in made:
        w.close()


def subscribe(client: TestClient, url: str, **body: Any) -> dict[str, Any]:
    response = client.post(HOOKS, json={"url": url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(client: TestClient, webhook_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{HOOKS}/{webhook_id}/deliveries", params={"limit": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def received_types(receiver: Receiver) -> list[str]:
    return [json.loads(body)["type"] for body in receiver.bodies()]


def test_the_secret_is_shown_once(hooks: TestClient, receiver: Receiver) -> None:
    created = subscribe(hooks, receiver.url, types=["incident.opened"], description="desk")
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "active" and created["types"] == ["incident.opened"]
    shown = hooks.get(f"{HOOKS}/{created['id']}")
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    assert shown.json()["description"] == "desk"
    listed = hooks.get(HOOKS).json()["items"]
    assert created["id"] in [w["id"] for w in listed]
    assert all("secret" not in w for w in listed)
    assert created["secret"] not in json.dumps(listed)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://hooks.example.org/hook",  # https only
        "https://user:pw@hooks.example.org/",
    ],
)
def test_unsafe_urls_are_refused_at_creation(client: TestClient, url: str) -> None:
    response = client.post(HOOKS, json={"url": url})
    assert_problem(response, 422)
    assert response.json()["errors"][0]["location"] == ["body", "url"]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"])
def test_a_name_that_resolves_to_a_private_address_is_refused(
    app: FastAPI, client: TestClient, address: str
) -> None:
    app.state.webhooks.resolver = lambda host, port: [PUBLIC_ADDRESS, address]
    response = client.post(HOOKS, json={"url": "https://hooks.example.org/in"})
    assert_problem(response, 422)
    assert "resolves to" in response.json()["detail"]
    app.state.webhooks.resolver = lambda host, port: [PUBLIC_ADDRESS]
    assert client.post(HOOKS, json={"url": "https://hooks.example.org/in"}).status_code == 201


def test_bad_bodies_name_the_field(hooks: TestClient, receiver: Receiver) -> None:
    wrong_type = hooks.post(HOOKS, json={"url": receiver.url, "types": ["zoo.exploded"]})
    assert_problem(wrong_type, 422)
    assert wrong_type.json()["errors"][0]["location"][:2] == ["body", "types"]
    no_zoo = hooks.post(HOOKS, json={"url": receiver.url, "zoo_ids": ["no-such-zoo"]})
    assert_problem(no_zoo, 422)
    assert no_zoo.json()["errors"][0]["location"] == ["body", "zoo_ids", 0]
    huge = hooks.post(HOOKS, json={"url": receiver.url, "zoo_ids": [99999999999]})
    assert_problem(huge, 422)
    created = subscribe(hooks, receiver.url)
    disable = hooks.patch(f"{HOOKS}/{created['id']}", json={"status": "disabled"})
    assert_problem(disable, 422)
    unsafe = hooks.patch(f"{HOOKS}/{created['id']}", json={"url": "ftp://x.example.org/"})
    assert_problem(unsafe, 422)


def test_update_pause_delete(hooks: TestClient, receiver: Receiver) -> None:
    created = subscribe(hooks, receiver.url)
    path = f"{HOOKS}/{created['id']}"
    paused = hooks.patch(path, json={"status": "paused", "types": ["animal.updated"]})
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert paused.json()["types"] == ["animal.updated"]
    assert hooks.get(HOOKS, params={"status": "paused"}).json()["total"] >= 1
    assert hooks.delete(path).status_code == 204
    assert_problem(hooks.get(path), 404)
    assert_problem(hooks.delete(path), 404)


def test_a_scoped_key_subscribes_to_its_zoos_and_sees_its_own(
    open_app: FastAPI, hooks: TestClient, session: Session, receiver: Receiver
) -> None:
    mine, other = make_zoo(session), make_zoo(session)
    scoped = bearer(make_key(session, Role.inspector, zoos=[mine.slug]))
    stranger = bearer(make_key(session, Role.inspector))
    with TestClient(open_app) as anon:
        created = anon.post(HOOKS, json={"url": receiver.url}, headers=scoped)
        assert created.status_code == 201, created.text
        assert created.json()["zoo_ids"] == [mine.id]
        beyond = anon.post(HOOKS, json={"url": receiver.url, "zoo_ids": [other.id]}, headers=scoped)
        assert_problem(beyond, 403)
        path = f"{HOOKS}/{created.json()['id']}"
        assert_problem(anon.get(path, headers=stranger), 404)
        assert created.json()["id"] not in [
            w["id"] for w in anon.get(HOOKS, headers=stranger).json()["items"]
        ]
        assert_problem(anon.get(HOOKS), 401)
        reporter = bearer(make_key(session, Role.reporter))
        assert_problem(anon.get(HOOKS, headers=reporter), 403)
    assert hooks.get(path).status_code == 200  # the unscoped admin sees every one


def test_deliveries_are_signed_as_the_standard_says(
    hooks: TestClient, receiver: Receiver, session: Session, worker: MakeWorker
) -> None:
    zoo = make_zoo(session)
    session.commit()
    created = subscribe(hooks, receiver.url)
    report = post_report(hooks, zoo.id, severity=3)
    worker().run_once()
    feed = hooks.get("/api/v1/events", params={"zoo_id": zoo.id}).json()["items"]
    assert {"report.filed", "incident.opened"} <= set(received_types(receiver))
    verifier = Verifier(created["secret"])
    by_id = {e["id"]: e for e in feed}
    for request in receiver.received:
        payload = verifier.verify(request.body, request.headers)  # raises unless signed
        assert request.headers["webhook-id"] == payload["id"]
        assert payload == by_id[payload["id"]]  # the event exactly as the feed has it
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-signature"].startswith("v1,")
        assert abs(int(request.headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    filed = next(json.loads(b) for b in receiver.bodies() if '"report.filed"' in b)
    assert filed["data"]["id"] == report["id"]
    assert filed["data"]["reporter_name"] is None  # as anyone may read it
    assert filed["data"]["reporter_contact"] is None
    tampered = dict(receiver.received[0].headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(created["secret"]).verify(receiver.received[0].body + " ", tampered)
    log = deliveries(hooks, created["id"])
    assert {d["status_code"] for d in log} == {200}
    assert all(d["next_attempt_at"] is None and d["attempt"] == 1 for d in log)


def test_a_failed_attempt_is_retried_with_the_same_id(
    hooks: TestClient, receiver: Receiver, session: Session, worker: MakeWorker
) -> None:
    zoo = make_zoo(session)
    session.commit()
    created = subscribe(hooks, receiver.url, types=["incident.opened"])
    receiver.statuses[:] = [500, 503]
    post_report(hooks, zoo.id)
    clock = [utcnow()]
    retrying = worker(webhook_retry_schedule="60,60,60", clock=lambda: clock[0])
    retrying.run_once()
    retrying.run_once()  # not due yet: nothing sent
    assert len(receiver.received) == 1
    for _ in range(2):
        clock[0] += timedelta(seconds=61)
        retrying.run_once()
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    verifier = Verifier(created["secret"])
    assert all(verifier.verify(r.body, r.headers) for r in receiver.received)
    log = deliveries(hooks, created["id"])
    assert [(d["attempt"], d["status_code"]) for d in log] == [(3, 200), (2, 503), (1, 500)]
    assert log[0]["next_attempt_at"] is None and log[1]["next_attempt_at"] is not None
    assert log[2]["error"] == "answered 500"
    retrying.run_once()
    assert len(receiver.received) == 3  # delivered once it succeeded: never again


def test_an_endpoint_failing_every_attempt_is_disabled_and_the_admins_told(
    hooks: TestClient, session: Session, worker: MakeWorker
) -> None:
    zoo = make_zoo(session)
    session.commit()
    with receiving(statuses=[500] * 10) as failing, receiving() as admins:
        broken = subscribe(hooks, failing.url, types=["incident.opened"])
        notified = subscribe(hooks, admins.url, types=["webhook.disabled"])
        disabling = worker(webhook_disable_after=2)
        post_report(hooks, zoo.id)
        disabling.run_once()
        assert hooks.get(f"{HOOKS}/{broken['id']}").json()["failed_in_a_row"] == 1
        post_report(hooks, zoo.id)
        disabling.run_once()
        shown = hooks.get(f"{HOOKS}/{broken['id']}").json()
        assert shown["status"] == "disabled" and shown["disabled_at"] is not None
        disabling.run_once()  # the notice goes out
        notice = [json.loads(b) for b in admins.bodies()]
        assert [n["type"] for n in notice] == ["webhook.disabled"]
        assert notice[0]["data"]["webhook_id"] == broken["id"]
        Verifier(notified["secret"]).verify(admins.received[0].body, admins.received[0].headers)
        post_report(hooks, zoo.id)
        disabling.run_once()
        assert len(failing.received) == 2  # a disabled endpoint gets nothing more
        resumed = hooks.patch(f"{HOOKS}/{broken['id']}", json={"status": "active"})
        assert resumed.json()["status"] == "active"
        assert resumed.json()["failed_in_a_row"] == 0
        disabling.run_once()
        assert len(failing.received) == 2  # re-enabled from now on, not the backlog


def test_scoped_subscriptions_receive_only_their_zoos(
    open_app: FastAPI, session: Session, receiver: Receiver, hooks: TestClient, worker: MakeWorker
) -> None:
    mine, other = make_zoo(session), make_zoo(session)
    session.commit()
    scoped = bearer(make_key(session, Role.inspector, zoos=[mine.slug]))
    with TestClient(open_app) as anon:
        assert anon.post(HOOKS, json={"url": receiver.url}, headers=scoped).status_code == 201
    post_report(hooks, other.id)
    post_report(hooks, mine.id)
    worker().run_once()
    zoos = {json.loads(b)["zoo_id"] for b in receiver.bodies()}
    assert zoos == {mine.id}


def test_a_revoked_owner_receives_nothing(
    open_app: FastAPI, session: Session, receiver: Receiver, hooks: TestClient, worker: MakeWorker
) -> None:
    zoo = make_zoo(session)
    session.commit()
    token = make_key(session, Role.inspector)
    with TestClient(open_app) as anon:
        made = anon.post(HOOKS, json={"url": receiver.url}, headers=bearer(token))
        assert made.status_code == 201
    key_id = hooks.get("/api/v1/keys").json()["items"][0]["id"]
    assert hooks.post(f"/api/v1/keys/{key_id}/revoke").status_code == 200
    post_report(hooks, zoo.id)
    worker().run_once()
    assert receiver.received == []


def test_paused_subscriptions_receive_what_they_missed_on_resuming(
    hooks: TestClient, receiver: Receiver, session: Session, worker: MakeWorker
) -> None:
    zoo = make_zoo(session)
    session.commit()
    created = subscribe(hooks, receiver.url, types=["incident.opened"])
    hooks.patch(f"{HOOKS}/{created['id']}", json={"status": "paused"})
    post_report(hooks, zoo.id)
    post_report(hooks, zoo.id)
    running = worker()
    running.run_once()
    assert receiver.received == []
    hooks.patch(f"{HOOKS}/{created['id']}", json={"status": "active"})
    running.run_once()
    assert received_types(receiver) == ["incident.opened", "incident.opened"]


def test_the_test_message(hooks: TestClient, receiver: Receiver, worker: MakeWorker) -> None:
    created = subscribe(hooks, receiver.url, types=["incident.opened"])
    hooks.patch(f"{HOOKS}/{created['id']}", json={"status": "paused"})
    queued = hooks.post(f"{HOOKS}/{created['id']}/test")
    assert queued.status_code == 202, queued.text
    worker().run_once()
    assert len(receiver.received) == 1
    sent = Verifier(created["secret"]).verify(
        receiver.received[0].body, receiver.received[0].headers
    )
    assert sent["type"] == "webhook.test" and sent["id"] == queued.json()["event_id"]
    assert sent["data"]["webhook_id"] == created["id"]
    assert deliveries(hooks, created["id"])[0]["event_type"] == "webhook.test"
    assert hooks.get("/api/v1/events", params={"type": "webhook.test"}).json()["items"] == []


def test_redirects_are_not_followed(
    hooks: TestClient, session: Session, worker: MakeWorker
) -> None:
    zoo = make_zoo(session)
    session.commit()
    with receiving() as target, receiving(statuses=[302], location="") as redirecting:
        redirecting.location = target.url
        created = subscribe(hooks, redirecting.url, types=["incident.opened"])
        post_report(hooks, zoo.id)
        worker().run_once()
        assert len(redirecting.received) == 1 and target.received == []
        log = deliveries(hooks, created["id"])
        assert log[0]["status_code"] == 302
        assert log[0]["error"] == "redirects are not followed"


def test_a_name_rebound_to_a_private_address_is_not_sent_to(
    app: FastAPI, client: TestClient, session: Session, settings: Settings
) -> None:
    """Checked at creation (public then), and again after resolving at delivery (loopback
    now): the attempt is logged as not sent."""
    zoo = make_zoo(session)
    session.commit()
    app.state.webhooks.resolver = lambda host, port: [PUBLIC_ADDRESS]
    created = subscribe(client, "https://rebind.example.org/hook", types=["incident.opened"])
    post_report(client, zoo.id)
    worker = WebhookWorker(
        settings.model_copy(update={"webhook_retry_schedule": ""}),
        shared(session),
        resolver=lambda host, port: ["127.0.0.1"],
    )
    try:
        worker.run_once()
    finally:
        worker.close()
    log = deliveries(client, created["id"])
    assert log[0]["status_code"] is None
    assert "resolves to 127.0.0.1" in log[0]["error"]
    assert log[0]["error"].startswith("not sent")


def test_a_claimed_delivery_is_leased(
    hooks: TestClient, session: Session, worker: MakeWorker
) -> None:
    """Claimed, then not recorded (a worker that died): no one takes it until the lease ends,
    then the next attempt, with the same id."""
    from app.webhooks import delivery

    zoo = make_zoo(session)
    session.commit()
    with receiving() as target:
        created = subscribe(hooks, target.url, types=["incident.opened"])
        post_report(hooks, zoo.id)
        running = worker(webhook_lease_s=30)
        running.run_once()  # delivered: nothing left
        post_report(hooks, zoo.id)
        from app.events import feed

        feed.place_all(shared(session))
        now = utcnow()
        delivery.fan_out(session.connection(), now)
        first = delivery.claim(session.connection(), now, limit=10, lease_s=30)
        assert [c.attempt for c in first] == [1]
        assert delivery.claim(session.connection(), now, limit=10, lease_s=30) == []
        later = now + timedelta(seconds=31)
        again = delivery.claim(session.connection(), later, limit=10, lease_s=30)
        assert [(c.event_id, c.attempt) for c in again] == [(first[0].event_id, 2)]
        assert created["id"] == again[0].webhook_id
