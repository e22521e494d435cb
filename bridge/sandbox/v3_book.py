"""The v3 sandbox's projects, orders and processes (reference §2.1-2.9).

A process is `pending` for the first quarter of the processing time, then `processing`, then
`done` (or `failed`, with no final assets) [inferred: the docs give the states, not their
length]. An order is "active" while one of its processes runs, else "idle". An order sent
without `project_id` goes to the account's default project, made at the first such order
[inferred from the projects' `default` flag]. Results are rendered at the first look once done.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from ..photo.tools import Tool
from .ids import iso, new_id, new_order_id
from .imaging import VARIATIONS, preview, render, thumbnail

if TYPE_CHECKING:
    from .book import OrderBook

PENDING_SHARE = 0.25  # of the processing time, before a process is "processing"
RUNNING = ("pending", "processing")


@dataclass
class Project:
    id: str
    address: str
    default: bool
    updated: float  # wall clock
    seq: int  # creation order
    touched: int  # order of the last change (sort=modified)
    input_count: int = 0
    result_count: int = 0

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "address": self.address,
            "cover_src": "",
            "input_count": self.input_count,
            "result_count": self.result_count,
            "bookmarked_count": 0,
            "default": self.default,
            "updated_at": datetime.fromtimestamp(self.updated, UTC).date().isoformat(),
        }


@dataclass
class Asset:
    id: str
    role: str
    found: bool  # Pillow could read it (else it has no picture to serve)


@dataclass
class Order:
    id: str
    project_id: str
    assets: list[Asset]
    created: float  # wall clock
    process_ids: list[str] = field(default_factory=list)


@dataclass
class Process:
    id: str
    order_id: str
    tool: Tool
    asset_map: dict[str, str]
    widgets: list[dict]
    choices: dict[str, str]  # widget title -> item title(s), for the picture
    started: float  # monotonic
    created: float  # wall clock
    fails: bool
    results: list[tuple[str, str]] = field(default_factory=list)  # (picture id, thumbnail id)


class V3Orders:
    def __init__(self, book: OrderBook):
        self.book = book
        self.projects: dict[str, Project] = {}
        self.orders: dict[str, Order] = {}
        self.processes: dict[str, Process] = {}
        self._previews: dict[str, bytes | None] = {}  # asset id -> its picture
        self._seq = itertools.count(1)

    # -- projects

    def create_project(self, address: str, default: bool = False) -> dict:
        with self.book.lock:
            return self._create_project(address, default).as_dict()

    def _create_project(self, address: str, default: bool) -> Project:
        seq = next(self._seq)
        project = Project(new_id(), address, default, self.book.clock.wall(), seq, seq)
        self.projects[project.id] = project
        return project

    def project(self, project_id: str) -> dict | None:
        with self.book.lock:
            found = self.projects.get(project_id)
            return found.as_dict() if found else None

    def list_projects(self, page: int, limit: int, sort: str, search: str) -> tuple[list[dict], int]:
        with self.book.lock:
            found = [p for p in self.projects.values() if search.casefold() in p.address.casefold()]
            by = "touched" if sort == "modified" else "seq"
            found.sort(key=lambda p: getattr(p, by), reverse=sort != "asc")
            shown = found[(page - 1) * limit : page * limit]
            return [p.as_dict() for p in shown], len(found)

    # -- orders

    def add_order(self, project_id: str | None, files: list[tuple[str, IO[bytes]]]) -> Order | None:
        """An order of the files (role, data), in upload order; None: no such project."""
        pictures = []
        for _role, data in files:
            data.seek(0)
            pictures.append(preview(data))
        with self.book.lock:
            if project_id is None:
                default = next((p for p in self.projects.values() if p.default), None)
                project = default or self._create_project("Default project", default=True)
            elif project_id in self.projects:
                project = self.projects[project_id]
            else:
                return None
            roles = [role for role, _ in files]
            assets = [Asset(new_id(), r, p is not None) for r, p in zip(roles, pictures, strict=True)]
            for asset, picture in zip(assets, pictures, strict=True):
                self._previews[asset.id] = picture
                if picture is not None:
                    self.book.keep(asset.id, picture)
            order = Order(new_order_id(), project.id, assets, self.book.clock.wall())
            self.orders[order.id] = order
            project.input_count += len(assets)
            project.touched, project.updated = next(self._seq), self.book.clock.wall()
            return order

    def asset_ids(self, order_id: str) -> set[str] | None:
        with self.book.lock:
            order = self.orders.get(order_id)
            return {a.id for a in order.assets} if order else None

    def order(self, order_id: str, links: Links) -> dict | None:
        with self.book.lock:
            order = self.orders.get(order_id)
            if order is None:
                return None
            processes = [self._process(self.processes[p], links) for p in order.process_ids]
        return {
            "id": order.id,
            "order_id": order.id,
            "project_id": order.project_id,
            "status": "active" if any(p["status"] in RUNNING for p in processes) else "idle",
            "assets": [asset_dict(a, links) for a in order.assets],
            "processes": processes,
            "created_at": iso(order.created),
        }

    # -- processes

    def start(
        self, order_id: str, tool: Tool, asset_map: dict, widgets: list, choices: dict, fails: bool
    ) -> str:
        """A process taken (and charged); a second one of the same tool is a repeat."""
        book = self.book
        with book.lock:
            order = self.orders[order_id]
            if any(self.processes[p].tool.slug == tool.slug for p in order.process_ids):
                book.repeats[order_id] += 1
            process = Process(
                new_id(), order_id, tool, dict(asset_map), list(widgets), choices,
                book.clock.monotonic(), book.clock.wall(), fails,
            )  # fmt: skip
            self.processes[process.id] = process
            order.process_ids.append(process.id)
            book.charges[order_id] += 1
            return process.id

    def process(self, process_id: str, links: Links) -> dict | None:
        with self.book.lock:
            found = self.processes.get(process_id)
            return self._process(found, links) if found else None

    def _status(self, process: Process) -> str:
        elapsed = self.book.clock.monotonic() - process.started
        if elapsed < self.book.processing_time * PENDING_SHARE:
            return "pending"
        if elapsed < self.book.processing_time:
            return "processing"
        return "failed" if process.fails else "done"

    def _process(self, process: Process, links: Links) -> dict:
        """The process as GET /v3/process answers it (with `book.lock` held)."""
        status = self._status(process)
        if status == "done" and not process.results:
            self._render(process)
        return {
            "id": process.id,
            "order_id": process.order_id,
            "project_id": self.orders[process.order_id].project_id,
            "tool": process.tool.slug,
            "status": status,
            "asset_map": process.asset_map,
            "widgets": process.widgets,
            "final_assets": [result_dict(*r, links) for r in process.results] if status == "done" else [],
            "created_at": iso(process.created),
        }

    def _render(self, process: Process) -> None:
        source = self._previews.get(process.asset_map.get(process.tool.input_slot, ""))
        for n in range(VARIATIONS.get(process.tool.service_name, 1)):
            picture = render(source, process.tool.service_name, process.choices, n)
            ids = (new_id(), new_id())
            self.book.keep(ids[0], picture)
            self.book.keep(ids[1], thumbnail(picture))
            process.results.append(ids)
        project = self.projects[self.orders[process.order_id].project_id]
        project.result_count += len(process.results)


@dataclass(frozen=True)
class Links:
    """Where pictures are served: `base` ends with "/"; `temp_only` leaves out `src` and
    `thumbnail_src`, as the documented API does (the live one sends both kinds)."""

    base: str
    temp_only: bool = False


def asset_dict(asset: Asset, links: Links) -> dict:
    src = f"{links.base}results/{asset.id}.jpg" if asset.found else ""
    return {"id": asset.id, "role": asset.role, "src": src}


def result_dict(picture_id: str, thumb_id: str, links: Links) -> dict:
    answer = {
        "asset_id": picture_id,
        "asset_type": "image",
        "temp_src": f"{links.base}results/temp/{picture_id}.jpg",
        "temp_thumbnail_src": f"{links.base}results/temp/{thumb_id}.jpg",
    }
    if not links.temp_only:
        answer |= {
            "src": f"{links.base}results/{picture_id}.jpg",
            "thumbnail_src": f"{links.base}results/{thumb_id}.jpg",
        }
    return answer
