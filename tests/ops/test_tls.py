"""TLS on both listeners, 1.2 minimum, certificates reloaded on SIGHUP without restart."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support.certs import make_cert
from tests.support.daemon import DaemonProcess


def trust(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def peer_cert_der(port: int, ca: Path) -> bytes:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def test_tls_on_both_listeners_and_reload(
    daemon_factory: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    first = make_cert(tmp_path, "first")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key.pem"
    shutil.copy(first[0], live_cert)
    shutil.copy(first[1], live_key)
    tls = {"tls_cert": str(live_cert), "tls_key": str(live_key)}
    d = daemon_factory({"mcp": tls, "http": tls})

    r = httpx.get(f"https://127.0.0.1:{d.http_port}/health", verify=trust(first[0]))
    assert r.status_code == 200
    # TLS 1.1 and below are refused.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # the point is to offer a deprecated version
        warnings.simplefilter("ignore", DeprecationWarning)
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with pytest.raises(ssl.SSLError), socket.create_connection(
        ("127.0.0.1", d.http_port), timeout=5
    ) as raw:
        old.wrap_socket(raw, server_hostname="localhost")
    # WSS: the handshake completes over TLS and then authentication refuses it (401).
    wss_ctx = ssl.create_default_context(cafile=str(first[0]))
    with pytest.raises(InvalidStatus) as info:
        connect(f"wss://localhost:{d.mcp_port}/mcp", ssl=wss_ctx,
                subprotocols=[Subprotocol("mcp")], open_timeout=5)
    assert info.value.response.status_code == 401

    # An open keep-alive connection survives the reload.
    client = httpx.Client(verify=trust(first[0]))
    assert client.get(f"https://127.0.0.1:{d.http_port}/health").status_code == 200

    second = make_cert(tmp_path, "second")
    shutil.copy(second[0], live_cert)
    shutil.copy(second[1], live_key)
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    expected = ssl.PEM_cert_to_DER_cert(second[0].read_text())
    while peer_cert_der(d.http_port, second[0]) != expected:
        assert time.monotonic() < deadline, "new certificate not served after SIGHUP"
        time.sleep(0.1)
    assert peer_cert_der(d.mcp_port, second[0]) == expected
    r = httpx.get(f"https://127.0.0.1:{d.http_port}/health", verify=trust(second[0]))
    assert r.status_code == 200
    assert client.get(f"https://127.0.0.1:{d.http_port}/health").status_code == 200
    client.close()
