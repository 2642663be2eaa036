"""A real RFC 3161 time-stamp authority on loopback, built for tests with cryptography + asn1crypto.

    with TsaStub(clock=lambda: FIXED) as tsa:
        token = timestamp(digest, tsa.url)

``behaviour`` makes it misbehave on purpose: ``"ok"``, ``"wrong_nonce"`` (answers nonce + 1),
``"reject"`` (status rejection, badAlg), ``"http_error"`` (HTTP 500), ``"garbage"`` (not DER).
The key is derived from ``key_seed`` so runs are reproducible; ECDSA P-256 because OpenSSL's
``ts -verify`` (PKCS#7 code) accepts it, which Ed25519 in OpenSSL 3.0 does not.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from soxauto.evidence.anchor import TimeStampResp

POLICY = "1.3.6.1.4.1.55555.1.1"  # a made-up policy OID for the stub
VALID_FROM = datetime(2020, 1, 1, tzinfo=timezone.utc)
VALID_TO = datetime(2040, 1, 1, tzinfo=timezone.utc)


def make_tsa_identity(
    key_seed: int = 1, name: str = "SOXauto Test TSA", *, purpose=ExtendedKeyUsageOID.TIME_STAMPING
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed TSA certificate with the critical extendedKeyUsage timeStamping RFC 3161 requires.

    keyUsage is digitalSignature + nonRepudiation only: OpenSSL's timestamp purpose check
    rejects any other bit (keyCertSign included), even on a self-signed certificate."""
    key = ec.derive_private_key(0x5A5A_0000 + key_seed, ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SOXauto tests")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1000 + key_seed)
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_TO)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


class TsaStub:
    def __init__(
        self, *, behaviour: str = "ok", clock: Callable[[], datetime] | None = None, key_seed: int = 1,
        purpose=ExtendedKeyUsageOID.TIME_STAMPING,
    ):
        self.behaviour = behaviour
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.key, self.cert = make_tsa_identity(key_seed, purpose=purpose)
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.requests: list[bytes] = []
        self._serial = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/tsr"

    def __enter__(self) -> "TsaStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.requests.append(body)
                if stub.behaviour == "http_error":
                    self.send_error(500, "stub TSA is down")
                    return
                reply = b"<html>not a TSA</html>" if stub.behaviour == "garbage" else stub.respond(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def respond(self, request_der: bytes) -> bytes:
        request = tsp.TimeStampReq.load(request_der)
        if self.behaviour == "reject":
            return TimeStampResp({
                "status": {"status": "rejection", "status_string": ["unsupported algorithm"], "fail_info": {"bad_alg"}},
            }).dump()
        nonce = request["nonce"].native
        if self.behaviour == "wrong_nonce":
            nonce += 1
        self._serial += 1
        tst = tsp.TSTInfo({
            "version": "v1",
            "policy": POLICY,
            "message_imprint": request["message_imprint"],
            "serial_number": self._serial,
            "gen_time": self.clock(),
            "accuracy": {"seconds": 1},
            "nonce": nonce,
        })
        token = self.sign(tst.dump(), include_cert=bool(request["cert_req"].native))
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

    def sign(self, tst_der: bytes, *, include_cert: bool = True) -> cms.ContentInfo:
        cert = asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [{"cert_hash": hashlib.sha256(cert.dump()).digest()}]}]},
        ])
        signature = self.key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        })
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_der)},
            "certificates": [cert] if include_cert else None,
            "signer_infos": [signer],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})
