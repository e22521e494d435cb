"""What the queue asks of the remote API, whichever version it speaks.

`RemoteApi` is the one object the rest of the bridge holds: it keeps the transport
(`ApiClient`) and, once it knows which version the key speaks (`version.py`: the setting, else
a probe remembered per key), hands each question to that version's module (`v1.py`,
`v3.py`). Both answer in the terms below, so the queue never knows which one it talks to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .client import ApiClient, RemoteError

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from ..photo.formats import UploadFile
    from .catalog import Selection, ServiceCatalog
    from .version import VersionMemory

NOT_SUBMITTED, PROCESSING, FINISHED, FAILED = "not_submitted", "processing", "finished", "failed"


@dataclass(frozen=True)
class OrderRef:
    """An order as the queue recorded it."""

    order_id: str
    service_name: str
    asset_id: str | None = None  # v3: the uploaded photo's asset
    process_id: str | None = None  # v3: the process the submit started


@dataclass(frozen=True)
class Uploaded:
    order_id: str
    asset_id: str | None = None


@dataclass(frozen=True)
class Submitted:
    process_id: str | None = None
    eta: float | None = None  # seconds until results are worth looking for; None: no hint


@dataclass(frozen=True)
class Result:
    src: str
    sequence: int


@dataclass(frozen=True)
class Progress:
    """An order's state as the API tells it: NOT_SUBMITTED, PROCESSING, FINISHED or FAILED."""

    state: str
    results: tuple[Result, ...] = ()  # the ones ready to download
    expected: int | None = None  # how many results the order will have, when known
    message: str | None = None  # the API's words on a failure
    process_id: str | None = None  # v3: the process found for the order's tool


class NeedsOtherVersion(RemoteError):
    """A service this API version does not offer (a v3-only tool on a v1 key)."""

    def __init__(self, message: str):
        super().__init__(status=None, message=message, retryable=False)

    def describe(self) -> str:
        return self.message


class Speaker(Protocol):
    """One API version: `v1.V1` and `v3.V3` speak it."""

    version: str
    min_poll_gap: float  # seconds between two looks at one order (process), at least

    def upload(
        self,
        file: UploadFile,
        service_name: str,
        project: str | None,
        on_progress: Callable[[int], None] | None,
    ) -> Uploaded: ...

    def read_catalog(self, service_name: str) -> ServiceCatalog: ...

    def select(
        self, catalog: ServiceCatalog, space: str | None, widgets: dict[str, str] | None
    ) -> Selection: ...

    def submit(self, ref: OrderRef, selection: Selection) -> Submitted: ...

    def find_submit(self, ref: OrderRef) -> Progress: ...

    def progress(self, ref: OrderRef) -> Progress: ...


class RemoteApi:
    """The remote API for one key: its transport and the version it speaks."""

    def __init__(self, client: ApiClient, version: str = "auto", memory: VersionMemory | None = None):
        self.client = client
        self.setting = version  # "auto", "v1" or "v3"
        self._memory = memory
        # The version as set, else as found out for this key before (read once: the page asks
        # for it every second); None until `auto` has asked the API.
        self._known = version if version != "auto" else memory.recall(client) if memory else None
        self._speaker: Speaker | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RemoteApi({self.client.base_url!r}, {self.version or self.setting})"

    # The transport, for downloads and messages.
    @property
    def session(self) -> requests.Session:
        return self.client.session

    @property
    def connect_timeout(self) -> float:
        return self.client.connect_timeout

    @property
    def read_timeout(self) -> float:
        return self.client.read_timeout

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def snippet(self, text: str) -> str:
        return self.client.snippet(text)

    def close(self) -> None:
        self.client.close()

    @property
    def version(self) -> str | None:
        """The version in use, or None while `auto` has not asked the API yet."""
        return self._speaker.version if self._speaker is not None else self._known

    def speaker(self) -> Speaker:
        """The version's module, asking the API which it is on first need (RemoteError when it
        cannot be asked now, or refuses the key)."""
        with self._lock:
            if self._speaker is None:
                from .version import detect

                version = self._known
                if version is None:
                    version = detect(self.client)
                    if self._memory is not None:
                        self._memory.remember(self.client, version)
                self._speaker = _speaker_for(version, self.client)
            return self._speaker

    def upload(
        self,
        file: UploadFile,
        service_name: str,
        project: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Uploaded:
        return self.speaker().upload(file, service_name, project, on_progress)

    def read_catalog(self, service_name: str) -> ServiceCatalog:
        return self.speaker().read_catalog(service_name)

    def select(self, catalog: ServiceCatalog, space: str | None, widgets: dict[str, str] | None) -> Selection:
        return self.speaker().select(catalog, space, widgets)

    def submit(self, ref: OrderRef, selection: Selection) -> Submitted:
        return self.speaker().submit(ref, selection)

    def find_submit(self, ref: OrderRef) -> Progress:
        return self.speaker().find_submit(ref)

    def progress(self, ref: OrderRef) -> Progress:
        return self.speaker().progress(ref)

    @property
    def min_poll_gap(self) -> float:
        return self._speaker.min_poll_gap if self._speaker is not None else 0.0


def _speaker_for(version: str, client: ApiClient) -> Speaker:
    if version == "v1":
        from .v1 import V1

        return V1(client)
    from .v3 import V3

    return V3(client)
