"""The OpenAPI 3.1 document of the local API; a test keeps it and the routes in step."""

from __future__ import annotations

from .. import __version__
from ..queue.store import STATES

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_NULLABLE_STR = {"type": ["string", "null"]}

_ITEM = {
    "type": "object",
    "required": ["id", "state", "order_id", "error", "attempts"],
    "properties": {
        "id": {"type": "string"}, "source_id": _NULLABLE_STR, "path": _NULLABLE_STR,
        "filename": _NULLABLE_STR, "state": {"enum": list(STATES)},
        "waiting_until": {"type": ["number", "null"], "description": "retry time (epoch s)"},
        "order_id": _NULLABLE_STR, "error": _NULLABLE_STR, "attempts": {"type": "integer"},
        "service_name": _NULLABLE_STR, "service_reason": _NULLABLE_STR,
        "size": {"type": ["integer", "null"]}, "bytes_sent": {"type": "integer"},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}

_BATCH = {
    "type": "object",
    "required": ["id", "finished", "counts", "total", "items"],
    "properties": {
        "id": {"type": "string"}, "created": {"type": "number"}, "finished": {"type": "boolean"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "total": {"type": "integer"}, "bytes_total": {"type": "integer"},
        "bytes_sent": {"type": "integer"}, "items": {"type": "array", "items": _ITEM},
    },
}

_UPLOAD_REQUEST_JSON = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {"type": "array", "minItems": 1, "maxItems": 10000, "items": {
            "type": "object", "required": ["path"],
            "properties": {
                "path": {"type": "string", "description": "absolute path of a file to send"},
                "source_id": {"type": "string", "description": "the host's id of the photo"},
                "service_name": {"type": "string"}, "preset": {"type": "string"},
                "force": {"type": "boolean", "description": "send even if already ordered"},
            }}},
        "service_name": {"type": "string", "description": "default for every item"},
        "preset": {"type": "string", "description": "default for every item"},
        "client": {"type": "string"},
        "batch_id": {"type": "string", "description": "add to this batch instead of a new one"},
    },
}

_UPLOAD_REQUEST_MULTIPART = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "source_id": {"type": "array", "items": {"type": "string"}},
        "service_name": {"type": "string"}, "preset": {"type": "string"},
        "force": {"type": "string", "enum": ["true", "false"]},
    },
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "bad request", 401: "missing or wrong token", 403: "refused (Host or Origin)",
            404: "not found", 415: "unsupported body type",
            503: "cannot take work now (disk full, database locked): try again"}
    return {str(c): _json(_ERROR, text[c]) for c in (401, 403, *codes)}


def _op(summary: str, ok: dict, *errors: int, body: dict | None = None, params=None,
        status: str = "200") -> dict:
    op = {"summary": summary, "responses": {status: ok, **_errors(*errors)}}
    if body:
        op["requestBody"] = {"required": True, "content": body}
    if params:
        op["parameters"] = params
    return op


def _id(name: str) -> list[dict]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


def _query(*names: str) -> list[dict]:
    return [{"name": n, "in": "query", "required": False,
             "schema": {"type": "integer"} if n == "limit" else
             {"enum": list(STATES)} if n == "state" else {"type": "string"}} for n in names]


def openapi_document() -> dict:
    action = _json({"type": "object"})
    health = _op("Is the bridge up; its mode, version and queue", _json({
        "type": "object", "required": ["status", "mode", "version", "queue"],
        "properties": {"status": {"const": "ok"}, "mode": {"enum": ["live", "sandbox"]},
                       "version": {"type": "string"},
                       "queue": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "uploading_now": {"type": "integer"},
                       "rules_problem": _NULLABLE_STR}}))
    health["responses"] = {"200": health["responses"]["200"], "403": _json(_ERROR, "refused")}
    health["security"] = []
    return {
        "openapi": "3.1.0",
        "info": {"title": "aihd-bridge local API", "version": __version__},
        "servers": [{"url": "http://127.0.0.1:47311"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/health": {"get": health},
            "/v1/uploads": {"post": _op(
                "Hand files over; each is spooled before the answer", _json({
                    "type": "object", "required": ["batch_id", "items"],
                    "properties": {"batch_id": {"type": "string"}, "items": {"type": "array"}}},
                    "accepted"), 400, 415, 503, status="202",
                body={"application/json": {"schema": _UPLOAD_REQUEST_JSON},
                      "multipart/form-data": {"schema": _UPLOAD_REQUEST_MULTIPART}})},
            "/v1/uploads/{item_id}": {"get": _op("One item, with its attempts", _json(_ITEM),
                                                 404, params=_id("item_id"))},
            "/v1/uploads/{item_id}/cancel": {"post": _op("Cancel an item not yet sent", action,
                                                         404, params=_id("item_id"))},
            "/v1/uploads/{item_id}/retry": {"post": _op("Queue a failed item again", action,
                                                        404, params=_id("item_id"))},
            "/v1/batches/{batch_id}": {"get": _op("Every item's state", _json(_BATCH), 404,
                                                  params=_id("batch_id"))},
            "/v1/batches/{batch_id}/cancel": {"post": _op("Cancel the items not yet sent",
                                                          action, 404, params=_id("batch_id"))},
            "/v1/batches/{batch_id}/retry": {"post": _op("Queue failed items again", action,
                                                         404, params=_id("batch_id"))},
            "/v1/history": {"get": _op("Past uploads, newest first", _json({
                "type": "object", "properties": {"items": {"type": "array", "items": _ITEM}}}),
                400, params=_query("state", "source_path", "source_id", "order_id", "limit"))},
            "/v1/services": {"get": _op("The API's services", _json({"type": "object"}))},
            "/v1/presets": {"get": _op("Presets and auto rules", _json({"type": "object"}))},
            "/v1/inspect": {"post": _op(
                "What the bridge reads from a file and the service it would pick",
                _json({"type": "object", "required": ["path"]}), 400, 415,
                body={"application/json": {"schema": {
                    "type": "object", "required": ["path"],
                    "properties": {"path": {"type": "string"}, "service_name": {"type": "string"},
                                   "preset": {"type": "string"}}}}})},
            "/v1/config/reload": {"post": _op(
                "Take up an API key stored or removed since start", _json({
                    "type": "object", "properties": {"mode": {"enum": ["live", "sandbox"]}}}))},
            "/v1/session-code": {"post": _op(
                "A one-time login link to the status page (works once, within expires_in s)",
                _json({"type": "object", "required": ["url", "expires_in"], "properties": {
                    "url": {"type": "string", "description": "open it in a browser"},
                    "expires_in": {"type": "integer"}}}))},
            "/v1/openapi.json": {"get": _op("This document", _json({"type": "object"}))},
        },
    }
