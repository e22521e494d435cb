"""The transport to the remote API: JSON calls and streaming multipart uploads with the key,
errors as values. What is sent where is each version's (`v1.py`, `v3.py`); this speaks HTTP.

Retries are the caller's business (it knows what was already sent), so urllib3's own
retries are off and every attempt builds a fresh encoder (an encoder reads only once).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

from .. import __version__
from ..core.redact import snippet
from ..core.text import has_controls, printable
from ..photo.formats import UploadFile

SNIPPET_CHARS = 200
MAX_ORDER_ID = 200
UPLOAD_BLOCK = 1 << 20
GATEWAY_DOWN = (502, 503, 504)  # what proxies and load balancers say when the API is down


class RemoteError(Exception):
    """An upload that did not return an order id.

    `status` is the HTTP status, or None for a network failure described by `cause`;
    `message` is the remote's own words where it gave any; `retryable` says whether
    trying again later may help; `retry_after` is the remote's wish, in seconds; `outage`
    says the API could not be reached or is down (nothing about this photo); `key` is the
    API's machine-readable reason (`{"error", "key"}`), when it gave one.
    """

    def __init__(
        self,
        *,
        status: int | None,
        message: str,
        retryable: bool,
        cause: str | None = None,
        retry_after: float | None = None,
        outage: bool = False,
        key: str | None = None,
    ):
        self.status = status
        self.key = key
        self.message = message
        self.retryable = retryable
        self.cause = cause
        self.retry_after = retry_after
        self.outage = outage
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.status is None:
            return f"network error: {self.cause}" + (f" ({self.message})" if self.message else "")
        meaning = _STATUS_MEANING.get(self.status) or (
            "the API had a problem" if self.status >= 500 else "the API refused the photo"
        )
        text = f"{meaning} (HTTP {self.status})"
        return text + (f": {self.message}" if self.message else "")


_STATUS_MEANING = {
    400: "the API refused the request",
    401: "the API key was not accepted",
    403: "the API key may not do this",
    413: "the API says the file is too large",
    415: "the API does not take this file type",
    429: "the API is rate limiting requests",
}


@dataclass
class ApiClient:
    base_url: str  # the API's origin as configured, e.g. https://api.aihomedesign.com
    api_key: str
    connect_timeout: float = 10.0
    read_timeout: float = 300.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._session: requests.Session | None = (
            None  # made at the first call: requests stays out of start-up
        )

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests
            from requests.adapters import HTTPAdapter
            from urllib3.util.retry import Retry

            session = requests.Session()
            no_retries = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=False))
            # Send bodies in 1 MB blocks, not 16 KB: a 50 MB photo is then 50 reads of the
            # multipart encoder instead of thousands.
            no_retries.poolmanager.connection_pool_kw["blocksize"] = UPLOAD_BLOCK
            session.mount("http://", no_retries)
            session.mount("https://", no_retries)
            session.headers["User-Agent"] = f"aihd-bridge/{__version__}"
            self._session = session
        return self._session

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"ApiClient({self.base_url!r})"

    def _headers(self, **more: str) -> dict:
        # The key goes only to the API's own origin: every request of this class is made to
        # base_url + path, and redirects are never followed (they could name another host).
        return {"x-api-key": self.api_key, "Accept": "application/json", **more}

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,  # a JSON body
        timeout: float | None = None,
    ) -> Any:  # the JSON answer: a dict or a list
        """One JSON call to the API; its answer (any 2xx with a JSON body) or RemoteError.
        A read timeout here, as for uploads, is not an outage: the request may have been taken."""
        import requests

        try:
            resp = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=payload,
                headers=self._headers(),
                timeout=(self.connect_timeout, timeout or self.read_timeout),
                allow_redirects=False,
            )
            content = resp.content
        except requests.RequestException as exc:
            raise network_error(exc) from None
        return self._answer(resp.status_code, resp.headers, content)

    def send_file(
        self,
        path: str,
        fields: list[tuple[str, str]],
        file_field: str,
        file: UploadFile,
        on_progress: Callable[[int], None] | None = None,
    ) -> Any:
        """One streaming multipart POST: the text `fields` first, then the file; the answer as
        `call` gives it."""
        import requests
        from requests_toolbelt.multipart.encoder import MultipartEncoder, MultipartEncoderMonitor

        with file.path.open("rb") as fh:
            encoder = MultipartEncoder(fields=[*fields, (file_field, (file.filename, fh, file.mime))])
            body = (
                encoder
                if on_progress is None
                else MultipartEncoderMonitor(encoder, lambda m: on_progress(m.bytes_read))
            )
            try:
                resp = self.session.post(
                    self.base_url + path,
                    data=body,
                    headers=self._headers(**{"Content-Type": encoder.content_type}),
                    timeout=(self.connect_timeout, self.read_timeout),
                    allow_redirects=False,
                )
                content = resp.content
            except requests.RequestException as exc:
                raise network_error(exc) from None
        # An upload answered without JSON may still have made an order: never sent again blindly.
        return self._answer(resp.status_code, resp.headers, content, retry_unreadable=False)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _answer(
        self, status: int, headers: Mapping[str, str], content: bytes, retry_unreadable: bool = True
    ) -> Any:
        payload = _json_or_none(content)
        if 200 <= status < 300 and isinstance(payload, (dict, list)):
            return payload
        if 200 <= status < 300:
            what = "the answer was not JSON" if retry_unreadable else "the answer had no order id"
            raise RemoteError(
                status=status,
                retryable=retry_unreadable,
                message=f"{what}: " + self.snippet(content.decode("utf-8", "replace")),
            )
        raise self._error(status, headers, content, payload)

    def _error(self, status: int, headers: Mapping[str, str], content: bytes, payload: object) -> RemoteError:
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            message = payload["error"]
        elif isinstance(payload, dict) and isinstance(payload.get("message"), str):
            message = payload["message"]
        else:
            message = content.decode("utf-8", "replace")
        retryable = status == 429 or status >= 500 or status == 408
        key = payload.get("key") if isinstance(payload, dict) else None
        return RemoteError(
            status=status,
            message=self.snippet(message),
            retryable=retryable,
            retry_after=parse_retry_after(headers.get("Retry-After")),
            outage=status in GATEWAY_DOWN,
            key=key if isinstance(key, str) else None,
        )

    def snippet(self, text: str) -> str:
        """The remote's words, short, with the key masked in any form it echoed it in."""
        return snippet(text, SNIPPET_CHARS, [self.api_key])


def checked_id(value: object, what: str, client: ApiClient) -> str | None:
    """An id from the API as it gave it, or None when it gave none; one with control characters
    or over MAX_ORDER_ID characters is refused (RemoteError), never cleaned into an id the API
    does not know."""
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > MAX_ORDER_ID or has_controls(value):
        raise RemoteError(
            status=200,
            retryable=False,
            message=f"the answer's {what} has control characters or is over {MAX_ORDER_ID} characters: "
            + client.snippet(printable(value)),
        )
    return value


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def network_error(exc: Exception) -> RemoteError:
    """Refused, reset, DNS, TLS, no connection in time: the API is out of reach. A read timeout
    is not: the request went out and the API kept silent about it."""
    import requests

    return RemoteError(
        status=None,
        cause=_network_cause(exc),
        message=_network_detail(exc),
        retryable=True,
        outage=not isinstance(exc, requests.ReadTimeout),
    )


def _network_cause(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "could not connect in time"
    if isinstance(exc, requests.ReadTimeout):
        return "the API did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed or was dropped"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection was dropped mid-answer"
    return type(exc).__name__


_NETWORK_DETAILS = (
    "Connection refused",
    "Connection reset",
    "Name or service not known",
    "Temporary failure in name resolution",
    "No route to host",
    "CERTIFICATE_VERIFY_FAILED",
)


def _network_detail(exc: Exception) -> str:
    """The one telling phrase of a network failure, without urllib3's nested reprs."""
    text = str(exc)
    return next((d for d in _NETWORK_DETAILS if d in text), "")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
