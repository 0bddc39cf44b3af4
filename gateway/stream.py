"""Stream properties and media entities: bytes read and written at their own URL.

    GET    /Products(ID)/Photo           the bytes, Content-Type from the catalog (204 when there are none)
    PUT    /Products(ID)/Photo           replace them (the Content-Type header becomes the media type)
    DELETE /Products(ID)/Photo           remove them
    GET    /MediaItems(ID)/$value        a media entity's media resource (PUT replaces it)
    POST   /MediaItems                   create a media entity from the bytes themselves (201, its JSON)

Writes go through EntityWriter like any PATCH: privileges, company scope, If-Match, audit, events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from gateway.catalog.model import Entity, Property
from gateway.conditional import not_modified
from gateway.errors import BadRequest, MethodNotAllowed, NotFound
from gateway.plan.keys import Fixed
from gateway.plan.scope import EntityScope, PlanContext
from gateway.serialize.values import etag
from gateway.write.entity import EntityWriter

OCTET_STREAM = "application/octet-stream"


def is_stream(entity: Entity, name: str | None) -> bool:
    return name is not None and name in entity.properties and entity.properties[name].type == "Edm.Stream"


def read_stream(connection: Any, context: PlanContext, entity: Entity, fixed: Fixed, prop: Property,
                request_headers: Any, headers: dict[str, str], key_text: str) -> Response:
    """The stream's bytes with their media type and the entity's ETag; 304 when If-None-Match matches."""
    scope = EntityScope(entity, context)
    holder = prop.media_type_property
    columns = [scope.column(prop.name), *([scope.column(holder)] if holder else [])]
    versions = scope.etag_columns()
    statement = select(*columns, *versions).select_from(scope.from_clause()).where(scope.where(fixed)).limit(1)
    row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"no {entity.entity_type} with key {key_text}")
    if versions:
        headers["ETag"] = etag(tuple(row[len(columns):]))
    if not_modified(request_headers, headers.get("ETag")):
        return Response(status_code=304, headers={"ETag": headers.get("ETag", ""), "OData-Version": "4.0"})
    content = row[0]
    if content is None:
        return Response(status_code=204, headers=headers)
    media_type = (row[1] if holder else None) or prop.media_type or OCTET_STREAM
    return Response(bytes(content), media_type=media_type, headers=headers)


def write_stream(writer: EntityWriter, method: str, fixed: Fixed, name: str, raw: bytes,
                 content_type: str | None, if_match: list[str] | None) -> None:
    """PUT or DELETE of a stream property or of a media entity's media resource."""
    entity = writer.entity
    prop = entity.properties[name]
    if method == "DELETE":
        if name == entity.media:
            raise MethodNotAllowed(f"{entity.entity_set} is a media entity: delete the entity, not its media",
                                   headers={"Allow": "GET, PUT"})
        values: dict[str, object] = {name: None}
    elif method in ("PUT", "PATCH"):
        values = stream_values(prop, raw, content_type)
    else:
        raise MethodNotAllowed(f"write a stream with PUT (or remove it with DELETE), not {method}",
                               headers={"Allow": "GET, PUT, DELETE"})
    if writer.current_etag(fixed) is None:
        raise NotFound(f"no {entity.entity_type} with key {dict(fixed)}")
    writer.update(fixed, values, if_match, replace=False)


def stream_values(prop: Property, raw: bytes, content_type: str | None) -> dict[str, object]:
    """The property values a stream's bytes and Content-Type give."""
    values: dict[str, object] = {prop.name: raw}
    if prop.media_type_property is not None:
        media_type = (content_type or OCTET_STREAM).split(";")[0].strip().lower()
        if "/" not in media_type:
            raise BadRequest(f"Content-Type must be a media type like image/png, not '{content_type}'")
        values[prop.media_type_property] = media_type
    return values
