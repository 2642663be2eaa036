"""One close on a tiny lake for the whole service test session (``world``); ``fresh`` is a private
copy of it for a test that changes state (sign-offs, locks, runs, tampering); ``idp``, an OIDC
identity provider's JWKS served on loopback with the private key that signs its tokens."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from servicekit import build_world, client_for, copy_world

from soxauto.service import create_app


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("service-world"))


@pytest.fixture(scope="session")
def client(world):
    """Read-only tests share this client: nothing they do changes the world."""
    with client_for(create_app(world.config())) as c:
        yield c


@pytest.fixture
def fresh(world, tmp_path):
    return copy_world(world, tmp_path)


@pytest.fixture
def fresh_client(fresh):
    app = create_app(fresh.config())
    with client_for(app) as c:
        c.world = fresh
        yield c


@pytest.fixture(scope="session")
def idp():
    """(private key, JWKS URL on loopback); sign tokens with ``servicekit.oidc_token(key)``."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "test-1", "alg": "RS256", "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()
