"""Power Automate style subscriptions at /data/BusinessEventsSubscriptions: a client POSTs a callback
URL for one event (as the "When a business event occurs" trigger does when a flow is saved) and gets
that event there until it DELETEs the subscription (when the flow is deleted).

A subscription is an endpoint of type PowerAutomate plus its activation, written together in one
transaction through the /data write path, with the caller's privileges: creating one needs create on
BusinessEventsEndpoints and BusinessEventsActivations, listing them read, removing them delete.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.errors import BadRequest, NotFound
from gateway.events.service import ACTIVATIONS, ENDPOINTS, Events
from gateway.events.store import activations, endpoints
from gateway.read import ReadService, request_context
from gateway.threads import in_thread
from gateway.write.http import json_body

SUBSCRIPTIONS = "BusinessEventsSubscriptions"
POWER_AUTOMATE = 2  # BusinessEventsEndpointType


def subscription_routes(service: ReadService, events: Events) -> list[Route]:
    base = f"{service.prefix}/{SUBSCRIPTIONS}"

    async def collection(request: Request) -> Response:
        if request.method == "POST":
            body = json_body(request.headers.get("content-type"), await request.body())
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object with BusinessEventId and CallbackUrl")
            created = await in_thread(_subscribe, service, events, request, body)
            root = str(request.base_url).rstrip("/")
            return JSONResponse({"@odata.context": f"{root}{service.prefix}/$metadata#{SUBSCRIPTIONS}/$entity",
                                 **created}, status_code=201,
                                headers={"Location": f"{root}{base}('{created['SubscriptionId']}')"})
        return JSONResponse({"@odata.context": f"{str(request.base_url).rstrip('/')}{service.prefix}/$metadata#"
                                               f"{SUBSCRIPTIONS}", "value": await in_thread(_list, service, request)})

    async def single(request: Request) -> Response:
        subscription_id = urllib.parse.unquote(request.path_params["key"]).strip("'")
        await in_thread(_unsubscribe, service, events, request, subscription_id)
        return Response(status_code=204)

    return [Route(base, collection, methods=["GET", "POST"]),
            Route(base + "({key})", single, methods=["DELETE"])]


def _subscribe(service: ReadService, events: Events, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    event_id, url = body.get("BusinessEventId"), body.get("CallbackUrl")
    legal_entity = str(body.get("LegalEntity") or "").lower()
    if not isinstance(event_id, str) or not event_id:
        raise BadRequest("BusinessEventId is required", target="BusinessEventId")
    parts = urllib.parse.urlsplit(url if isinstance(url, str) else "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("CallbackUrl must be an http(s) URL", target="CallbackUrl")
    unknown = set(body) - {"BusinessEventId", "CallbackUrl", "LegalEntity"}
    if unknown:
        raise BadRequest(f"unknown properties: {', '.join(sorted(unknown))}", target=sorted(unknown)[0])
    subscription_id = "sub-" + uuid.uuid4().hex[:12]
    events.create_together([
        (ENDPOINTS, {"EndpointId": subscription_id, "Name": f"Subscription to {event_id}",
                     "EndpointType": "PowerAutomate", "Url": url}),
        (ACTIVATIONS, {"BusinessEventId": event_id, "EndpointId": subscription_id, "LegalEntity": legal_entity}),
    ], request_context(service, request, {}, {}))
    return {"SubscriptionId": subscription_id, "BusinessEventId": event_id, "CallbackUrl": url,
            "LegalEntity": legal_entity}


def _list(service: ReadService, request: Request) -> list[dict[str, Any]]:
    request_context(service, request, {}, {}).access.require(service.catalog.entities[ENDPOINTS], "read")
    query = (select(endpoints.c.ENDPOINTID, activations.c.BUSINESSEVENTID, endpoints.c.URL, activations.c.LEGALENTITY)
             .join_from(endpoints, activations, activations.c.ENDPOINTID == endpoints.c.ENDPOINTID)
             .where(endpoints.c.ENDPOINTTYPE == POWER_AUTOMATE).order_by(endpoints.c.ENDPOINTID))
    with service.engine.connect() as connection:
        return [{"SubscriptionId": row[0], "BusinessEventId": row[1], "CallbackUrl": row[2], "LegalEntity": row[3]}
                for row in connection.execute(query)]


def _unsubscribe(service: ReadService, events: Events, request: Request, subscription_id: str) -> None:
    with service.engine.connect() as connection:
        kind = connection.execute(select(endpoints.c.ENDPOINTTYPE)
                                  .where(endpoints.c.ENDPOINTID == subscription_id)).scalar()
    if kind != POWER_AUTOMATE:
        raise NotFound(f"no subscription {subscription_id}")
    events.remove_endpoint(subscription_id, request_context(service, request, {}, {}))
