"""Turn what a host hands over into queued items: validate each, spool it, never fail the batch
for one bad item. Knows nothing of HTTP: the server passes plain values in."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..core.config import Settings
from ..core.text import has_controls, printable
from ..photo.formats import FileProblem, ImageFormat, check_file, open_photo, upload_name
from ..photo.rules import Choice, Rules, RulesError
from ..remote.catalog import Catalog, NotOffered
from ..remote.client import RemoteError
from .spool import Spool
from .store import NewItem, OtherClient, Store, new_id

MAX_ITEMS = 10_000
# A name is written into result names, logs and terminals: it must be text, not commands.
CONTROLS_IN_NAME = "the file name holds control characters (a line break, a tab, an escape); rename it"


class InvalidRequest(ValueError):
    """The request as a whole makes no sense (not a per-item problem)."""


class Unavailable(RuntimeError):
    """The bridge cannot take work right now (disk full, database locked): try again later."""


@dataclass
class Intake:
    settings: Settings
    store: Store
    spool: Spool
    rules: Rules
    catalog: Catalog | None = None  # to check a submit's space and widgets before the upload

    def from_json(
        self, payload: object, also: Callable | None = None, within: Path | None = None
    ) -> tuple[str, list[NewItem]]:
        """`also(db, items)` records the caller's own note of the items with them (Store.add_batch);
        `within`: a folder every photo must really be in (a watched folder), links resolved."""
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            raise InvalidRequest('expected a JSON object {"items": [{"path": ..., ...}, ...]}')
        raw_items = payload["items"]
        if not 1 <= len(raw_items) <= MAX_ITEMS:
            raise InvalidRequest(f"a batch holds 1 to {MAX_ITEMS} items, not {len(raw_items)}")
        batch_id = payload.get("batch_id")
        if batch_id is not None and not isinstance(batch_id, str):
            raise InvalidRequest(f"no batch {batch_id!r} to add to")  # add_batch checks it exists
        defaults = {k: payload[k] for k in ("service_name", "preset", "force", *ORDER_FIELDS) if k in payload}
        inside = Path(os.path.realpath(within)) if within is not None else None
        items = [
            self._json_item(defaults | raw if isinstance(raw, dict) else raw, inside) for raw in raw_items
        ]
        try:
            batch_id = self._record(items, client=_text(payload.get("client")), batch_id=batch_id, also=also)
        except KeyError:
            self._unspool(items)
            raise InvalidRequest(f"no batch {batch_id!r} to add to") from None
        except OtherClient:
            self._unspool(items)
            raise InvalidRequest(f"batch {batch_id!r} belongs to another client") from None
        return batch_id, items

    def _record(self, items: list[NewItem], **kw: Any) -> str:
        """Record the batch, or take nothing: a full disk or a locked database must not
        leave half a batch behind."""
        try:
            return self.store.add_batch(items, **kw)
        except sqlite3.Error as exc:
            self._unspool(items)
            raise Unavailable(
                f"the bridge could not record the photos ({exc}); nothing was "
                "taken: free some disk space or try again"
            ) from None

    def _unspool(self, items: list[NewItem]) -> None:
        for item in items:
            self.spool.remove(item.spool_path)

    def _json_item(self, raw: object, inside: Path | None = None) -> NewItem:
        if not isinstance(raw, dict):
            return NewItem(None, None, error="each item must be an object with a 'path'")
        source_id = _text(raw.get("source_id"))
        path_text = raw.get("path")
        if not isinstance(path_text, str) or not path_text or "\x00" in path_text:
            return NewItem(None, source_id, error="item has no usable 'path'")
        if has_controls(path_text):
            shown = printable(path_text)
            return NewItem(shown, source_id, error=f"{shown}: {CONTROLS_IN_NAME}")
        item_id = new_id("i")
        item = NewItem(path_text, source_id, force=raw.get("force") is True, id=item_id)
        path = Path(path_text)
        if not path.is_absolute():
            item.error = f"{path_text}: the path must be absolute"
            return item
        real = None
        if inside is not None:  # a link in a shared or synced folder must not send a photo from elsewhere
            real = Path(os.path.realpath(path))
            if not real.is_relative_to(inside):
                item.error = f"{path_text}: a link to {real}, outside the watched folder; not sent"
                return item
        try:
            # Checked and kept through one handle: the path may be repointed in between.
            with open_photo(path, self.settings.max_upload_bytes) as (fh, fmt, st):
                if real is not None and not _same_file(real, st):
                    raise FileProblem(path, "was repointed while it was looked at; not sent")
                spooled = self.spool.take(path, fh, item_id)
        except FileProblem as exc:
            item.error = str(exc)
            return item
        except OSError as exc:
            item.error = f"{path_text}: could not be copied into the spool ({_why(exc)})"
            return item
        try:
            self._choose(item, raw, spooled, fmt)  # metadata from the copy that will be sent
        except (RulesError, NotOffered) as exc:
            self.spool.remove(spooled)
            item.error = f"{path_text}: {exc}"
            return item
        item.spool_path, item.size, item.format = str(spooled), st.st_size, fmt.name
        # A host that hands over a temporary render names the photo it came from: its results
        # are named after the photo, not the render.
        item.filename = upload_name(Path(_leaf(raw.get("name")) or path.name), fmt)
        return item

    def from_upload(
        self, stream: IO[bytes], filename: str | None, fields: Mapping[str, str | None]
    ) -> NewItem:
        """One file sent in the request body (multipart)."""
        name = os.path.basename(filename or "") or "upload"
        item_id = new_id("i")
        item = NewItem(name, _text(fields.get("source_id")), force=fields.get("force") == "true", id=item_id)
        if has_controls(name):
            item.source_path, item.error = printable(name), f"{printable(name)}: {CONTROLS_IN_NAME}"
            return item
        try:
            spooled = self.spool.receive(stream, item_id, Path(name).suffix)
        except OSError as exc:
            item.error = f"{name}: could not be written into the spool ({_why(exc)})"
            return item
        try:
            fmt, size = check_file(spooled, self.settings.max_upload_bytes)
            self._choose(item, fields, spooled, fmt)
        except (FileProblem, RulesError, NotOffered) as exc:
            self.spool.remove(spooled)
            reason = exc.reason if isinstance(exc, FileProblem) else str(exc)
            item.error = f"{name}: {reason}"
            return item
        item.spool_path, item.size, item.format = str(spooled), size, fmt.name
        item.filename = upload_name(Path(name), fmt)
        return item

    def add_uploaded(self, items: list[NewItem], also: Callable | None = None) -> str:
        """Record the photos of a multipart upload; `also` as for `from_json`."""
        return self._record(items, client="multipart", also=also)

    def _choose(self, item: NewItem, fields: Mapping[str, Any], path: Path, fmt: ImageFormat) -> None:
        choice = self.rules.choose(
            path, fmt, service=_text(fields.get("service_name")), preset=_text(fields.get("preset"))
        )
        item.service_name, item.service_reason = choice.service_name, choice.reason
        self._order(item, fields, choice)

    def _order(self, item: NewItem, fields: Mapping[str, Any], choice: Choice) -> None:
        """What happens after the upload: the item's own fields, else the preset's (or the
        rule's space). A submit's space and widgets are checked against the catalog now, so
        that a value it lacks fails the photo before anything is uploaded; when the catalog
        cannot be read now, they are checked again before the upload and before the submit."""
        defaults = choice.order
        submit = _flag(fields.get("submit"), "submit")
        space = fields.get("space")
        if space is not None and not isinstance(space, str):
            raise RulesError("space must be text: a space's title or name from the catalog")
        widgets = fields.get("widgets")
        if isinstance(widgets, str):  # multipart sends it as JSON text
            try:
                widgets = json.loads(widgets)
            except ValueError:
                raise RulesError("widgets must be a JSON object: widget -> item") from None
        if widgets is not None and not (
            isinstance(widgets, dict) and all(isinstance(v, str) for v in widgets.values())
        ):
            raise RulesError('widgets must be an object of text, e.g. {"Style": "Modern"}')
        results = fields.get("results_dir") or defaults.results_dir
        if results is not None:
            if not isinstance(results, str) or not Path(results).expanduser().is_absolute():
                raise RulesError("results_dir must be an absolute folder")
            results = str(Path(results).expanduser())
        project = fields.get("project")
        if project is not None and (not isinstance(project, str) or len(project) > MAX_PROJECT):
            raise RulesError(f"project must be text of at most {MAX_PROJECT} characters: the property's name")
        item.project = " ".join(project.split()) or None if project else None
        item.submit = bool(defaults.submit) if submit is None else submit
        item.results_dir = results
        item.order_request = {
            "space": space or defaults.space,
            "widgets": {**defaults.widgets, **(widgets or {})},
        }
        if item.submit and self.catalog is not None:
            try:
                selection = self.catalog.resolve(
                    choice.service_name, item.order_request["space"], item.order_request["widgets"]
                )
            except RemoteError:
                return  # the catalog cannot be read now: checked again later, before any charge
            item.selection = selection.as_dict()


ORDER_FIELDS = ("submit", "space", "widgets", "results_dir", "project")
MAX_PROJECT = 200  # characters of a property's name (an address)


def _flag(value: object, name: str) -> bool | None:
    """A JSON boolean, or multipart's "true"/"false"; None when not given."""
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise RulesError(f"{name} must be true or false")


def _leaf(name: object) -> str | None:
    """A file name a host gives, without any folder (it never chooses where results go)."""
    if not isinstance(name, str):
        return None
    leaf = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")
    return None if leaf in ("", ".", "..") else leaf


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value)[:500]


def _same_file(path: Path, st: os.stat_result) -> bool:
    """Whether `path` names the file `st` was taken of (the one opened)."""
    try:
        there = path.stat()
    except OSError:
        return False
    return (there.st_dev, there.st_ino) == (st.st_dev, st.st_ino)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
