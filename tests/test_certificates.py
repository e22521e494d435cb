"""A python.org Python on macOS has no certificates until its "Install Certificates" step, which
photographers skip: the client must verify the API's certificate with certifi's bundle, as
requests does, not with the system's store. Shown against a TLS server on 127.0.0.1 whose CA
is put in certifi's place, in a Python whose system store is empty."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading

import pytest

CLIENT = """
import sys, urllib.request
import certifi
certifi.where = lambda: sys.argv[2]  # certifi's bundle is our test CA alone
try:
    urllib.request.urlopen(sys.argv[1] + "/v1/ping", timeout=10)  # the system's store
    print("system store: accepted")
except Exception as exc:
    print("system store:", type(exc).__name__, exc)
from bridge.remote.client import ApiClient
print("client:", ApiClient(sys.argv[1] + "/v1/order/image", "key").call("GET", "/v1/ping"))
"""


def _certificates(folder):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def issue(subject, issuer, key, signer, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("aihd test CA", "aihd test CA", ca_key, ca_key, ca=True)
    server = issue("127.0.0.1", "aihd test CA", server_key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(
        server.public_bytes(pem)
        + server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "ca.pem", folder / "server.pem"


class _Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"pong": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_api_is_reached_with_certifis_bundle_where_the_system_has_none(tmp_path):
    ca, server_pem = _certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Ping)
    # The handshake on the first read, in the handler, not in accept(): the client that finds no
    # certificate fails it, and a socket failed in accept() would be dropped unclosed.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    empty = tmp_path / "no certificates"
    empty.mkdir()
    env |= {"SSL_CERT_FILE": str(empty / "cert.pem"), "SSL_CERT_DIR": str(empty), "NO_PROXY": "*"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", CLIENT, url, str(ca)], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 0, out.stderr
    system, client = out.stdout.splitlines()
    assert "CERTIFICATE_VERIFY_FAILED" in system  # the system's store really is empty
    assert client == "client: {'pong': True}"
