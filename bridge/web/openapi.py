"""The OpenAPI 3.1 document of the local API; a test keeps it and the routes in step."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..queue.item import ORDER_STATES, STATES
from ..queue.store import MAX_SOURCE_IDS

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_NULLABLE_STR = {"type": ["string", "null"]}

_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["id", "state", "order_id", "error", "attempts"],
    "properties": {
        "id": {"type": "string"},
        "source_id": _NULLABLE_STR,
        "path": _NULLABLE_STR,
        "filename": _NULLABLE_STR,
        "state": {"enum": list(STATES)},
        "waiting_until": {"type": ["number", "null"], "description": "retry time (epoch s)"},
        "order_id": _NULLABLE_STR,
        "error": _NULLABLE_STR,
        "attempts": {"type": "integer"},
        "service_name": _NULLABLE_STR,
        "service_reason": _NULLABLE_STR,
        "size": {"type": ["integer", "null"]},
        "bytes_sent": {"type": "integer"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "submit": {"type": "boolean", "description": "whether the order is submitted (a charge)"},
        "order_state": {
            "enum": [*ORDER_STATES, None],
            "description": "null until the upload is done; not_submitted (upload only) -> "
            "submitting -> processing -> finished or failed",
        },
        "order_error": {**_NULLABLE_STR, "description": "why the order failed, or why it waits"},
        "eta": {"type": ["number", "null"], "description": "when the results are expected (epoch s)"},
        "space": {**_NULLABLE_STR, "description": "the space ordered in, by its title"},
        "widgets": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "widget title -> item title",
        },
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "src", "sha256"],
                "properties": {
                    "path": {"type": "string", "description": "the result's file on this machine"},
                    "src": {"type": "string", "description": "where the API served it"},
                    "sha256": {"type": "string"},
                    "sequence": {"type": ["integer", "null"]},
                    "note": {
                        "type": ["string", "null"],
                        "description": "why it is not where its name was meant to be",
                    },
                },
            },
        },
        "project": {**_NULLABLE_STR, "description": "the property (v3: its project)"},
        "process_id": {**_NULLABLE_STR, "description": "v3: the process the submit started"},
    },
}

_CATALOG = {
    "type": "object",
    "required": ["service", "space_required", "spaces", "widgets"],
    "properties": {
        "service": {"type": "string"},
        "space_required": {"type": "boolean"},
        "spaces": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "title": {"type": "string"},
                    "description": _NULLABLE_STR,
                    "is_premium": {"type": ["boolean", "null"]},
                },
            },
        },
        "widgets": {
            "type": "object",
            "description": "space name ('' for services without spaces) -> its widgets, each "
            "with `is_optional` and its `items` [{id, title}]",
            "additionalProperties": {"type": "array", "items": {"type": "object"}},
        },
    },
}

_ORDER_FIELDS: dict[str, dict[str, Any]] = {
    "submit": {
        "type": "boolean",
        "description": "submit the order after the upload (a charge); default from the preset, else false",
    },
    "space": {"type": "string", "description": "a space's title or name from GET /v1/catalog"},
    "widgets": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "widget title or id -> item title or id, from GET /v1/catalog",
    },
    "results_dir": {"type": "string", "description": "absolute folder for the results"},
    "project": {
        "type": "string",
        "maxLength": 200,
        "description": "the property (an address or a name): v3 orders go into its project",
    },
}

_CURSOR = {
    "type": "integer",
    "minimum": 0,
    "description": "opaque: pass it back as `since` to get only what changed after it",
}

_REMOTE = {
    "type": "object",
    "required": ["state", "since", "next_try", "last_error"],
    "description": "whether the remote API can be reached; while it cannot, or rate limits, "
    "every upload waits (no photo is charged an attempt) and one at a time "
    "tries again",
    "properties": {
        "state": {"enum": ["ok", "unreachable", "rate_limited"]},
        "since": {"type": "number", "description": "when this state began (epoch s)"},
        "next_try": {"type": ["number", "null"], "description": "epoch s; null when ok"},
        "last_error": {**_NULLABLE_STR, "description": "why, when not ok"},
    },
}

_BATCH = {
    "type": "object",
    "required": ["id", "cursor", "finished", "counts", "total", "items"],
    "properties": {
        "id": {"type": "string"},
        "created": {"type": "number"},
        "cursor": _CURSOR,
        "finished": {"type": "boolean"},
        "counts": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "items per state over the whole batch, and `waiting`",
        },
        "total": {"type": "integer"},
        "bytes_total": {"type": "integer"},
        "bytes_sent": {"type": "integer"},
        "orders": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "items per order_state",
        },
        "orders_finished": {
            "type": "boolean",
            "description": "uploads finished and no order submitting or processing",
        },
        "remote": _REMOTE,
        "items": {
            "type": "array",
            "items": _ITEM,
            "description": "every item, or with `since` those changed after it",
        },
    },
}

_LISTED = {
    **_ITEM,
    "properties": {
        **_ITEM["properties"],
        "batch_id": {"type": "string"},
        "created": {"type": "number"},
        "finished_at": {"type": ["number", "null"]},
    },
}

_CHANGES = {
    "type": "object",
    "required": ["cursor", "more", "items"],
    "properties": {
        "cursor": _CURSOR,
        "more": {"type": "boolean", "description": "ask again at once with the new cursor"},
        "items": {"type": "array", "items": _LISTED, "description": "in the order they changed"},
    },
}

_UPLOAD_REQUEST_JSON = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10000,
            "items": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    "path": {"type": "string", "description": "absolute path of a file to send"},
                    "source_id": {"type": "string", "description": "the host's id of the photo"},
                    "name": {
                        "type": "string",
                        "description": "the photo's own file name when `path` is a temporary render: "
                        "its results are named after it",
                    },
                    "service_name": {"type": "string"},
                    "preset": {"type": "string"},
                    "force": {"type": "boolean", "description": "send even if already ordered"},
                    **_ORDER_FIELDS,
                },
            },
        },
        **{k: {**v, "description": "default for every item"} for k, v in _ORDER_FIELDS.items()},
        "service_name": {"type": "string", "description": "default for every item"},
        "preset": {"type": "string", "description": "default for every item"},
        "client": {
            "type": "string",
            "description": "who hands the photos over; a Lightroom catalog sends `lightroom:<catalog "
            "id>` and asks GET /v1/changes?client= for its own items. Items take their "
            "batch's client: joining another client's batch is refused",
        },
        "batch_id": {"type": "string", "description": "add to this batch instead of a new one"},
    },
}

_UPLOAD_REQUEST_MULTIPART = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "source_id": {"type": "array", "items": {"type": "string"}},
        "service_name": {"type": "string"},
        "preset": {"type": "string"},
        "force": {"type": "string", "enum": ["true", "false"]},
        "submit": {"type": "string", "enum": ["true", "false"]},
        "space": {"type": "string"},
        "widgets": {"type": "string", "description": "a JSON object: widget -> item"},
        "results_dir": {"type": "string"},
    },
}


_WATCH_REQUEST = {
    "type": "object",
    "required": ["dir"],
    "properties": {
        "dir": {"type": "string", "description": "absolute path of the folder to watch"},
        "service": {"type": "string", "description": "the service for its photos (not with preset)"},
        "preset": {"type": "string", "description": "a preset instead; neither: auto"},
        "submit": {"type": "boolean", "description": "submit each order once uploaded"},
        "results": {"type": "string", "description": "absolute path where results go"},
        "move_done": {"type": "boolean", "description": "move ordered photos into done/"},
        "poll": {"type": "boolean", "description": "look every second instead of waiting for events"},
    },
}

_WATCH = {
    "type": "object",
    "required": ["dir", "state"],
    "properties": {
        **{k: _NULLABLE_STR for k in ("dir", "service", "preset", "results", "problem", "client")},
        **{k: {"type": "boolean"} for k in ("submit", "move_done", "poll")},
        "state": {"enum": ["starting", "watching", "missing", "error", "stopped", "removed"]},
        "mode": {
            "enum": ["events", "polling", "scanning", None],
            "description": "how changes are noticed; scanning: file events stopped (`problem` says "
            "why), the folder is looked through every 10 s",
        },
        "files_sent": {"type": "integer", "description": "files handed over so far"},
        "settling": {"type": "integer", "description": "files seen, waiting to be complete"},
    },
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {
        400: "bad request",
        401: "missing or wrong token",
        403: "refused (Host or Origin)",
        404: "not found",
        413: "body larger than one photo at max_upload_bytes + 10 MB",
        415: "unsupported body type",
        503: "cannot take work now (disk full, database locked): try again",
    }
    return {str(c): _json(_ERROR, text[c]) for c in (401, 403, *codes)}


def _op(
    summary: str,
    ok: dict,
    *errors: int,
    body: dict | None = None,
    params: list[dict] | None = None,
    status: str = "200",
) -> dict:
    op = {"summary": summary, "responses": {status: ok, **_errors(*errors)}}
    if body:
        op["requestBody"] = {"required": True, "content": body}
    if params:
        op["parameters"] = params
    return op


_ACTION = _json({"type": "object"})  # what cancel and retry answer


def _id(name: str) -> list[dict]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


def _query(*names: str, required: tuple[str, ...] = ()) -> list[dict]:
    return [
        {
            "name": n,
            "in": "query",
            "required": n in required,
            "schema": {"type": "integer"}
            if n == "limit"
            else _CURSOR
            if n == "since"
            else {"enum": list(STATES)}
            if n == "state"
            else {"enum": list(ORDER_STATES)}
            if n == "order_state"
            # source_id may repeat: the history of several photos in one call
            else {"type": "array", "items": {"type": "string"}, "maxItems": MAX_SOURCE_IDS}
            if n == "source_id"
            else {"type": "string"},
        }
        for n in names
    ]


def openapi_document() -> dict:
    """The whole document, its paths built one family of routes at a time."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "aihd-bridge local API", "version": __version__},
        "servers": [{"url": "http://127.0.0.1:47311"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            **_open_paths(),
            **_upload_paths(),
            **_batch_paths(),
            **_catalog_paths(),
            **_bridge_paths(),
        },
    }


def _open_paths() -> dict:
    """The two routes open to all: whether the bridge is up, and its proof."""
    health = _op(
        "Is the bridge up; its mode, version and queue",
        _json(
            {
                "type": "object",
                "required": ["status", "mode", "version", "queue"],
                "properties": {
                    "status": {"const": "ok"},
                    "mode": {"enum": ["live", "sandbox"]},
                    "version": {"type": "string"},
                    "queue": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "orders": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                        "description": "items per order_state, and unanswered_uploads: uploads "
                        "the API may have taken without answering (never submitted, never charged)",
                    },
                    "uploading_now": {"type": "integer"},
                    "rules_problem": _NULLABLE_STR,
                    "remote": _REMOTE,
                },
            }
        ),
    )
    health["responses"] = {"200": health["responses"]["200"], "403": _json(_ERROR, "refused")}
    health["security"] = []
    identity = _op(
        "Prove this is the bridge that wrote bridge.json: HMAC-SHA256 under its token "
        "of 'aihd-bridge identity <nonce> <pid>', hex; ask it before sending the token",
        _json(
            {
                "type": "object",
                "required": ["pid", "proof"],
                "properties": {"pid": {"type": "integer"}, "proof": {"type": "string"}},
            }
        ),
        params=[
            {
                "name": "nonce",
                "in": "query",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9A-Za-z_-]{16,128}$"},
                "description": "fresh and random for each check",
            }
        ],
    )
    identity["responses"] = {
        "200": identity["responses"]["200"],
        "400": _json(_ERROR, "no nonce, or a malformed one"),
        "403": _json(_ERROR, "refused"),
    }
    identity["security"] = []
    return {
        "/v1/health": {"get": health},
        "/v1/identity": {"get": identity},
    }


def _upload_paths() -> dict:
    """Handing photos over, and each item afterwards."""
    return {
        "/v1/uploads": {
            "post": _op(
                "Hand files over; each is spooled before the answer",
                _json(
                    {
                        "type": "object",
                        "required": ["batch_id", "items"],
                        "properties": {
                            "batch_id": {"type": "string"},
                            "items": {
                                "type": "array",
                                "items": _ITEM,
                                "description": "each item handed over, in the order sent: queued, or "
                                "failed with its error",
                            },
                        },
                    },
                    "accepted",
                ),
                400,
                413,
                415,
                503,
                status="202",
                body={
                    "application/json": {"schema": _UPLOAD_REQUEST_JSON},
                    "multipart/form-data": {"schema": _UPLOAD_REQUEST_MULTIPART},
                },
            )
        },
        "/v1/uploads/{item_id}": {
            "get": _op("One item, with its attempts", _json(_ITEM), 404, params=_id("item_id"))
        },
        "/v1/uploads/{item_id}/cancel": {
            "post": _op("Cancel an item not yet sent", _ACTION, 404, params=_id("item_id"))
        },
        "/v1/uploads/{item_id}/retry": {
            "post": _op("Queue a failed item again", _ACTION, 404, params=_id("item_id"))
        },
    }


def _batch_paths() -> dict:
    """Batches, history and catch-up: what the hosts follow."""
    return {
        "/v1/batches/{batch_id}": {
            "get": _op(
                "Every item's state, or with `since` the items changed after that cursor",
                _json(_BATCH),
                400,
                404,
                params=_id("batch_id") + _query("since"),
            )
        },
        "/v1/batches/{batch_id}/cancel": {
            "post": _op("Cancel the items not yet sent", _ACTION, 404, params=_id("batch_id"))
        },
        "/v1/batches/{batch_id}/retry": {
            "post": _op("Queue failed items again", _ACTION, 404, params=_id("batch_id"))
        },
        "/v1/history": {
            "get": _op(
                "Past uploads, newest first",
                _json({"type": "object", "properties": {"items": {"type": "array", "items": _LISTED}}}),
                400,
                params=_query(
                    "state", "source_path", "source_id", "order_id", "client", "order_state", "limit"
                ),
            )
        },
        "/v1/changes": {
            "get": _op(
                "One client's items changed since a cursor (catch-up); nothing when nothing changed",
                _json(_CHANGES),
                400,
                params=_query("client", "since", "limit", required=("client",)),
            )
        },
    }


def _catalog_paths() -> dict:
    """What the bridge and the API offer: services, presets, the catalog, inspection."""
    return {
        "/v1/services": {"get": _op("The API's services", _json({"type": "object"}))},
        "/v1/presets": {"get": _op("Presets and auto rules", _json({"type": "object"}))},
        "/v1/catalog": {
            "get": _op(
                "The spaces and widgets the API offers for a service (cached; refresh=1 reads again)",
                _json(_CATALOG),
                400,
                503,
                params=[
                    {"name": "service", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "refresh", "in": "query", "required": False, "schema": {"enum": ["0", "1"]}},
                ],
            )
        },
        "/v1/inspect": {
            "post": _op(
                "What the bridge reads from a file and the service it would pick",
                _json({"type": "object", "required": ["path"]}),
                400,
                415,
                body={
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["path"],
                            "properties": {
                                "path": {"type": "string"},
                                "service_name": {"type": "string"},
                                "preset": {"type": "string"},
                            },
                        }
                    }
                },
            )
        },
    }


def _bridge_paths() -> dict:
    """The bridge itself: its key, the status page's login, watched folders, this document."""
    return {
        "/v1/config/reload": {
            "post": _op(
                "Take up an API key stored or removed since start",
                _json({"type": "object", "properties": {"mode": {"enum": ["live", "sandbox"]}}}),
            )
        },
        "/v1/session-code": {
            "post": _op(
                "A one-time login link to the status page (works once, within expires_in s)",
                _json(
                    {
                        "type": "object",
                        "required": ["url", "expires_in"],
                        "properties": {
                            "url": {"type": "string", "description": "open it in a browser"},
                            "expires_in": {"type": "integer"},
                        },
                    }
                ),
            )
        },
        "/v1/watches": {
            "get": _op(
                "The watched folders and how each is doing",
                _json({"type": "object", "properties": {"watches": {"type": "array", "items": _WATCH}}}),
            ),
            "post": _op(
                "Watch a folder from now on and at every start (kept in config.toml); the same "
                "folder again replaces its settings",
                _json(_WATCH, "watching"),
                400,
                415,
                status="201",
                body={"application/json": {"schema": _WATCH_REQUEST}},
            ),
        },
        "/v1/watches/remove": {
            "post": _op(
                "Stop watching a folder (and remove it from config.toml)",
                _json(_WATCH),
                400,
                404,
                415,
                body={
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["dir"],
                            "properties": {"dir": {"type": "string"}},
                        }
                    }
                },
            )
        },
        "/v1/openapi.json": {"get": _op("This document", _json({"type": "object"}))},
    }
