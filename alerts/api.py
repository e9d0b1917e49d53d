"""The HTTP API of subscriptions, silences, incidents and deliveries: aiohttp routes the worker adds to its
web server.

Reads come from in-memory views that the worker keeps in step with the compacted `subscriptions`, `silences`
and `acks` topics, and with the `alerts` topic (each incident's latest version); writes go through injected
async `publish` callbacks (so the topic stays the one store of record, and every worker sees the same set).
Outbox changes (redrive) go through a callback too, because only the delivery agent may write the outbox
table. Every route but `/api/openapi.json` needs `Authorization: Bearer <SALVO_API_TOKEN>`, except that an
incident's signed link (`alerts.links`) opens that incident read-only.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pydantic
from aiohttp import web
from pydantic.json_schema import models_json_schema

from alerts.acks import acknowledge
from alerts.channels.base import ChannelError
from alerts.links import signed
from alerts.outbox import Outbox, OutboxState
from alerts.silences import check_matchers, expire, new_silence, parse_duration
from alerts.subscriptions import route
from schemas.alert import Alert
from schemas.delivery import Ack, Matcher, Silence
from schemas.subscription import Subscription

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiBackend:
    """What the API reads and calls; the worker builds it from its views, producers and Deliverer.

    :param publish_subscription: writes a subscription (None deletes) to the compacted topic.
    :param publish_silence: writes a silence (expired ones too, so they stay visible) to its topic.
    :param redrive: asks the delivery agent to resend one outbox entry (by outbox key).
    :param send_test: sends one alert to one subscription through its real channel, no outbox.
    :param vet: refuses a subscription whose target may not be sent to (`alerts.egress.TargetPolicy.vet`),
        before anything is stored.
    :param labels: the label names the worker's rules give their alerts, which silences may match on.
    :param incidents: each alert's latest version by id (what `salvo incidents` lists).
    :param acks: acknowledgements by incident id; `publish_ack` writes one to its topic.
    """

    subscriptions: Mapping[str, Subscription]
    silences: Mapping[str, Silence]
    outbox: Outbox
    publish_subscription: Callable[[str, Subscription | None], Awaitable[None]]
    publish_silence: Callable[[str, Silence | None], Awaitable[None]]
    redrive: Callable[[str], Awaitable[None]]
    send_test: Callable[[Subscription, Alert, datetime], Awaitable[None]]
    vet: Callable[[Subscription], Awaitable[None]]
    labels: frozenset[str]
    incidents: Mapping[str, Alert]
    acks: Mapping[str, Ack]
    publish_ack: Callable[[Ack], Awaitable[None]]
    clock: Callable[[], datetime] = _utcnow


class AckRequest(pydantic.BaseModel):
    """The body of `POST /api/incidents/{id}/ack`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    comment: str = ""
    by: str = "salvo"


def incident_row(alert: Alert, ack: Ack | None) -> dict[str, Any]:
    """One incident as `salvo incidents` lists it: its latest version, and who acknowledged it."""
    return {
        "id": alert.id, "rule_id": alert.rule_id, "severity": alert.severity, "status": alert.status,
        "version": alert.version, "title": alert.title, "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None, "regions": list(alert.facts.regions),
        "active": alert.status != "resolved", "replay": alert.replay.label if alert.replay else None,
        "acknowledged": ack.model_dump(mode="json") if ack else None,
    }  # fmt: skip


class SilenceRequest(pydantic.BaseModel):
    """The body of `POST /api/silences`: matchers as `name=value` text, a duration like `2h`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    matchers: list[str]
    duration: str
    comment: str
    created_by: str = "salvo"
    spanning: bool = False


def _error(status: int, message: str, details: list[str] | None = None) -> web.Response:
    return web.json_response({"error": message, "details": details or []}, status=status)


def _validation_details(error: pydantic.ValidationError) -> list[str]:
    """pydantic errors as "field.path: message" lines, what the CLI prints."""
    return [f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors()]


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except json.JSONDecodeError as error:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {error}", "details": []}),
            content_type="application/json",
        ) from None


def sample_alert(now: datetime) -> Alert:
    """The alert `salvo subscribe test` sends: clearly a test, realistic in shape."""
    return Alert.model_validate(
        {
            "id": f"salvo-test:{now:%Y%m%dT%H%M%S}",
            "rule_id": "salvo-test",
            "severity": "info",
            "title": "Salvo test alert: your subscription works",
            "summary": "Sent by `salvo subscribe test`; no action needed.",
            "category": "attack",
            "subtypes": ["drone_strike"],
            "facts": {"drones": 1, "regions": ["Kyiv City"]},
            "starts_at": now,
            "labels": {"test": "true"},
        }
    )


class Api:
    """The route handlers over one backend; `routes()` is what the worker adds to its router."""

    def __init__(self, backend: ApiBackend, *, token: str | None) -> None:
        self._b = backend
        self._token = token

    def _signed_or(self, authorised: Handler) -> Handler:
        """The incident by its signed link (`alerts.links`: `?sig=`), read-only and without its deliveries,
        else the route as `authorised` serves it."""
        async def checked(request: web.Request) -> web.StreamResponse:
            sig = request.query.get("sig")
            if sig is None or not self._token:
                return await authorised(request)
            if not signed(request.match_info["id"], sig, self._token):
                return _error(401, "this link's signature is not valid (was SALVO_API_TOKEN changed?)")
            alert = self._incident(request)
            ack = self._b.acks.get(alert.id)
            return web.json_response({"alert": alert.model_dump(mode="json"),
                                      "acknowledged": ack.model_dump(mode="json") if ack else None})

        return checked

    def _authorised(self, handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if not self._token:
                return _error(503, "the API is disabled: set SALVO_API_TOKEN on the worker")
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode()):
                return _error(401, "missing or wrong bearer token (SALVO_API_TOKEN)")
            try:
                return await handler(request)
            except pydantic.ValidationError as error:
                return _error(400, "invalid request", _validation_details(error))
            except ValueError as error:
                return _error(400, str(error))

        return checked

    def routes(self) -> list[web.RouteDef]:
        """Every route with its full `/api/...` path, for `app.router.add_routes`."""
        a = self._authorised
        return [
            web.get("/api/openapi.json", self.openapi),
            web.get("/api/subscriptions", a(self.list_subscriptions)),
            web.post("/api/subscriptions", a(self.create_subscription)),
            web.get("/api/subscriptions/{name}", a(self.get_subscription)),
            web.put("/api/subscriptions/{name}", a(self.replace_subscription)),
            web.patch("/api/subscriptions/{name}", a(self.update_subscription)),
            web.delete("/api/subscriptions/{name}", a(self.delete_subscription)),
            web.post("/api/subscriptions/{name}/test", a(self.test_subscription)),
            web.post("/api/route", a(self.route_alert)),
            web.get("/api/silences", a(self.list_silences)),
            web.post("/api/silences", a(self.create_silence)),
            web.delete("/api/silences/{id}", a(self.expire_silence)),
            web.get("/api/incidents", a(self.list_incidents)),
            web.get("/api/incidents/{id}", self._signed_or(a(self.get_incident))),
            web.post("/api/incidents/{id}/ack", a(self.ack_incident)),
            web.get("/api/deliveries", a(self.list_deliveries)),
            web.post("/api/deliveries/{key}/redrive", a(self.redrive_delivery)),
        ]

    def _subscription(self, request: web.Request) -> Subscription:
        name = request.match_info["name"]
        found = self._b.subscriptions.get(name)
        if found is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no subscription named {name!r}", "details": []}),
                content_type="application/json",
            )
        return found

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        subs = sorted(self._b.subscriptions.values(), key=lambda s: s.name)
        return web.json_response([s.public() for s in subs])

    async def get_subscription(self, request: web.Request) -> web.Response:
        return web.json_response(self._subscription(request).public())

    async def create_subscription(self, request: web.Request) -> web.Response:
        sub = Subscription.model_validate(await _json(request))
        if sub.name in self._b.subscriptions:
            return _error(409, f"subscription {sub.name!r} exists; use `salvo subscribe update`")
        await self._store(sub)
        return web.json_response(sub.public(), status=201)

    async def replace_subscription(self, request: web.Request) -> web.Response:
        self._subscription(request)
        sub = Subscription.model_validate({**await _json(request), "name": request.match_info["name"]})
        await self._store(sub)
        return web.json_response(sub.public())

    async def update_subscription(self, request: web.Request) -> web.Response:
        """A JSON merge patch (RFC 7396) over the stored subscription, secrets included."""
        current = self._subscription(request).model_dump(mode="json")
        patch = await _json(request)
        if not isinstance(patch, dict):
            return _error(400, "a merge patch must be a JSON object")
        sub = Subscription.model_validate({**_merge(current, patch), "name": current["name"]})
        await self._store(sub)
        return web.json_response(sub.public())

    async def _store(self, sub: Subscription) -> None:
        """Vet the target (a refusal is a 400 with its reason), then publish: nothing refused is stored."""
        await self._b.vet(sub)
        await self._b.publish_subscription(sub.name, sub)

    async def delete_subscription(self, request: web.Request) -> web.Response:
        sub = self._subscription(request)
        await self._b.publish_subscription(sub.name, None)
        return web.Response(status=204)

    async def test_subscription(self, request: web.Request) -> web.Response:
        """Outcome and timing only: the receiver's answer is never echoed, since the caller chose the target."""
        sub = self._subscription(request)
        now = self._b.clock()
        alert = sample_alert(now)
        started = time.perf_counter()
        try:
            await self._b.send_test(sub, alert, now)
        except ChannelError as error:
            elapsed = f"elapsed_ms: {1000 * (time.perf_counter() - started):.0f}"
            return _error(
                502, f"test delivery to {sub.name} failed: {error}", [f"reason: {error.reason}", elapsed]
            )
        elapsed_ms = round(1000 * (time.perf_counter() - started), 1)
        return web.json_response(
            {"status": "delivered", "subscription": sub.name, "alert": alert.key, "elapsed_ms": elapsed_ms}
        )

    async def route_alert(self, request: web.Request) -> web.Response:
        alert = Alert.model_validate(await _json(request))
        decisions = route(
            alert, self._b.subscriptions.values(), self._b.silences.values(), now=self._b.clock(),
            acks=self._b.acks,
        )
        return web.json_response(
            [
                {
                    "subscription": d.subscription,
                    "channel": d.channel,
                    "verdict": d.verdict.value,
                    "deliver": d.deliver,
                    "reasons": list(d.reasons),
                }
                for d in decisions
            ]  # fmt: skip
        )

    async def list_silences(self, request: web.Request) -> web.Response:
        now = self._b.clock()
        everything = request.query.get("all") == "true"
        shown = [s for s in self._b.silences.values() if everything or s.ends_at > now]
        shown.sort(key=lambda s: s.ends_at)
        return web.json_response([{**s.model_dump(mode="json"), "active": s.active(now)} for s in shown])

    async def create_silence(self, request: web.Request) -> web.Response:
        body = SilenceRequest.model_validate(await _json(request))
        matchers = [Matcher.parse(text) for text in body.matchers]
        problems = check_matchers(matchers, labels=self._b.labels)
        if problems:
            return _error(400, "invalid silence matchers", problems)
        silence = new_silence(
            matchers,
            duration=parse_duration(body.duration),
            comment=body.comment,
            created_by=body.created_by,
            now=self._b.clock(),
            spanning=body.spanning,
        )
        await self._b.publish_silence(silence.id, silence)
        return web.json_response(silence.model_dump(mode="json"), status=201)

    async def expire_silence(self, request: web.Request) -> web.Response:
        silence = self._b.silences.get(request.match_info["id"])
        if silence is None:
            return _error(404, f"no silence with id {request.match_info['id']!r}")
        ended = expire(silence, now=self._b.clock())
        await self._b.publish_silence(ended.id, ended)
        return web.json_response(ended.model_dump(mode="json"))

    async def list_incidents(self, request: web.Request) -> web.Response:
        active = request.query.get("active") == "true"
        rows = [incident_row(alert, self._b.acks.get(alert.id)) for alert in self._b.incidents.values()
                if not active or alert.status != "resolved"]
        return web.json_response(sorted(rows, key=lambda row: row["starts_at"], reverse=True))

    def _incident(self, request: web.Request) -> Alert:
        found = self._b.incidents.get(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no incident with id {request.match_info['id']!r}; see `salvo incidents`",
                                 "details": []}),
                content_type="application/json",
            )
        return found

    async def get_incident(self, request: web.Request) -> web.Response:
        """The incident's latest version whole, who acknowledged it, and what its deliveries did."""
        alert = self._incident(request)
        deliveries = [{"key": e.key, "subscription": e.request.subscription, "version": e.request.alert.version,
                       "state": e.state.value, "attempts": e.attempts, "error": e.error}
                      for e in self._b.outbox.entries(None) if e.request.alert.id == alert.id]
        ack = self._b.acks.get(alert.id)
        return web.json_response({"alert": alert.model_dump(mode="json"), "deliveries": deliveries,
                                  "acknowledged": ack.model_dump(mode="json") if ack else None})

    async def ack_incident(self, request: web.Request) -> web.Response:
        alert = self._incident(request)
        body = AckRequest.model_validate(await _json(request))
        ack = acknowledge(alert, by=body.by, comment=body.comment, now=self._b.clock())
        await self._b.publish_ack(ack)
        return web.json_response(ack.model_dump(mode="json"), status=201)

    async def list_deliveries(self, request: web.Request) -> web.Response:
        state = request.query.get("state")
        wanted = OutboxState(state) if state else None
        rows = [
            {"key": e.key, "subscription": e.request.subscription, "channel": e.channel,
             "alert": e.request.alert.key, "title": e.request.alert.title, "state": e.state.value,
             "attempts": e.attempts, "reason": e.reason, "error": e.error,
             "enqueued_at": e.enqueued_at.isoformat(), "next_attempt_at": e.next_attempt_at.isoformat()}
            for e in self._b.outbox.entries(wanted)
        ]  # fmt: skip
        return web.json_response(sorted(rows, key=lambda row: row["enqueued_at"]))

    async def redrive_delivery(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if self._b.outbox.get(key) is None:
            return _error(404, f"no delivery with key {key!r}; see `salvo deliveries list`")
        await self._b.redrive(key)
        return web.json_response({"status": "redriven", "key": key}, status=202)

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document())


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, `null` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description, with component schemas generated from the pydantic contracts."""
    models = [(m, "validation") for m in (Subscription, Silence, Alert, SilenceRequest, AckRequest)]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")

    def body(name: str) -> dict[str, Any]:
        schema = {"$ref": f"#/components/schemas/{name}"}
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    ok = {"200": {"description": "OK"}}
    name = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths: dict[str, Any] = {
        "/api/subscriptions": {
            "get": {"summary": "List subscriptions (secrets masked)", "responses": ok},
            "post": {"summary": "Create a subscription", "requestBody": body("Subscription"),
                     "responses": {"201": {"description": "Created"}, "400": {"description": "Invalid"},
                                   "409": {"description": "Exists"}}},
        },
        "/api/subscriptions/{name}": {
            "parameters": name,
            "get": {"summary": "One subscription", "responses": ok},
            "put": {"summary": "Replace a subscription", "requestBody": body("Subscription"),
                    "responses": ok},
            "patch": {"summary": "JSON merge patch (RFC 7396) of a subscription", "responses": ok},
            "delete": {"summary": "Delete a subscription", "responses": {"204": {"description": "Deleted"}}},
        },
        "/api/subscriptions/{name}/test": {
            "parameters": name,
            "post": {"summary": "Send a sample alert through the real channel",
                     "responses": {**ok, "502": {"description": "The channel failed"}}},
        },
        "/api/route": {"post": {"summary": "Which subscriptions an alert would reach, and why",
                                "requestBody": body("Alert"), "responses": ok}},
        "/api/silences": {
            "get": {"summary": "Active and pending silences (`?all=true`: expired too)", "responses": ok},
            "post": {"summary": "Create a silence", "requestBody": body("SilenceRequest"),
                     "responses": {"201": {"description": "Created"}}},
        },
        "/api/silences/{id}": {"delete": {"summary": "Expire a silence now (it stays listed with all=true)",
                                          "responses": ok}},
        "/api/incidents": {"get": {"summary": "Incidents, newest first: each alert's latest version "
                                              "(`?active=true`: not resolved)", "responses": ok}},
        "/api/incidents/{id}": {"get": {"summary": "One incident: its latest version, acknowledgement and "
                                                   "deliveries; with ?sig= (the signed link in a message), "
                                                   "its version and acknowledgement without the token",
                                        "responses": {**ok, "404": {"description": "Unknown"}}}},
        "/api/incidents/{id}/ack": {"post": {"summary": "Acknowledge an incident: its later versions are held",
                                             "requestBody": body("AckRequest"),
                                             "responses": {"201": {"description": "Acknowledged"}}}},
        "/api/deliveries": {"get": {"summary": "Outbox entries (`?state=pending|delivered|dead`)",
                                    "responses": ok}},
        "/api/deliveries/{key}/redrive": {"post": {"summary": "Resend one delivery with fresh attempts",
                                                   "responses": {"202": {"description": "Accepted"}}}},
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "Salvo API", "version": "1"},
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
