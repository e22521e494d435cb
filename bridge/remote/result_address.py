"""Where a result may be downloaded from: an address on the internet, or the API's own address
and port (a sandbox or a test stand-in serves its results there, under any name that resolves
to it), and nowhere else: not this machine, not the local network, not link-local (cloud
metadata). A result's `src` comes from the remote; without this, any answer could make the
bridge fetch from the user's router or another local service.

The check is made where the connection is opened, on every redirect hop, and the connection
goes to the very address checked (so a name cannot resolve one way for the check and another
for the connection). Through a proxy (the system's settings) the bridge opens no connection
to the result's host itself; the name is checked before the request is handed to the proxy.
Whether the API key is sent is another matter: it never is with a download (`download.py`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import __version__

if TYPE_CHECKING:
    import requests
    from urllib3.connection import HTTPConnection

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5


class RefusedAddress(Exception):
    """The result's address leads into this machine or a private network."""


class AddressPolicy:
    def __init__(self, api_url: str):
        api = urlsplit(api_url)
        self._api_host = api.hostname or ""
        self._api_port = api.port or DEFAULT_PORTS.get(api.scheme, 443)
        self._api_addresses: frozenset[str] | None = None  # resolved at the first download

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of `host` a download may connect to on `port`, in the resolver's
        order; RefusedAddress when there is none (socket.gaierror when the name is unknown)."""
        found = _resolve(host, port)
        allowed = [a for a in found if self._may_connect(a, port)]
        if not allowed:
            where = found[0] if found else host
            raise RefusedAddress(
                f"the result's address {host}:{port} leads to {where}, on this machine or a private "
                "network; results are fetched only from the internet or the API's own address"
            )
        return allowed

    def _may_connect(self, address: str, port: int) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_global and not ip.is_multicast:
            return True
        return port == self._api_port and address in self._api_own()

    def _api_own(self) -> frozenset[str]:
        if self._api_addresses is None:
            try:
                self._api_addresses = frozenset(_resolve(self._api_host, self._api_port))
            except OSError:
                return frozenset()  # not known now: asked again at the next download
        return self._api_addresses


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def guarded_session(api_url: str) -> requests.Session:
    """A requests session for downloads that connects only where `AddressPolicy` allows."""
    import requests
    from requests.adapters import HTTPAdapter
    from requests.utils import select_proxy
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import NameResolutionError, NewConnectionError
    from urllib3.util.retry import Retry

    policy = AddressPolicy(api_url)

    def connect_checked(conn: HTTPConnection, connect: Callable[[], socket.socket]) -> socket.socket:
        """Each address `policy` allows for the connection's host in turn, and no other. The
        host is put back before TLS starts: the certificate is checked against the name."""
        host = conn.host
        try:
            allowed = policy.addresses(host, conn.port)
        except socket.gaierror as exc:
            raise NameResolutionError(host, conn, exc) from exc
        failed = None
        try:
            for address in allowed:
                conn.host = address
                try:
                    return connect()
                except NewConnectionError as exc:
                    failed = exc
            raise failed or NewConnectionError(conn, f"no address for {host}")
        finally:
            conn.host = host

    class CheckedHTTP(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return connect_checked(self, super()._new_conn)

    class CheckedHTTPS(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return connect_checked(self, super()._new_conn)

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": CheckedHTTP}),
                "https": type("Pool", (HTTPSConnectionPool,), {"ConnectionCls": CheckedHTTPS}),
            }

        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: Any = None,  # as HTTPAdapter.send takes them
            verify: Any = True,
            cert: Any = None,
            proxies: dict[str, str] | None = None,
        ) -> requests.Response:
            if request.url and select_proxy(request.url, proxies or {}):
                url = urlsplit(request.url)
                policy.addresses(url.hostname or "", url.port or DEFAULT_PORTS.get(url.scheme, 443))
            return super().send(request, stream, timeout, verify, cert, proxies)

    session = requests.Session()
    session.headers["User-Agent"] = f"aihd-bridge/{__version__}"
    adapter = Adapter(max_retries=Retry(total=0, read=False, redirect=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = MAX_REDIRECTS
    return session
