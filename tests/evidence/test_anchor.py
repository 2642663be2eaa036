from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from tsa_stub import POLICY, TsaStub, make_tsa_identity

from soxauto.errors import EngineError, IntegrityError, UsageError
from soxauto.evidence.anchor import (
    anchor_ledger_head,
    export_for_openssl,
    settings_from_env,
    timestamp,
    verify_anchor,
    verify_token,
)

FIXED = datetime(2025, 1, 31, 23, 59, 58, 500000, tzinfo=timezone.utc)
HEAD = hashlib.sha256(b"ledger entry 7").hexdigest()
DIGEST = bytes.fromhex(HEAD)


def fixed_clock() -> datetime:
    return FIXED


@pytest.fixture
def tsa():
    with TsaStub(clock=fixed_clock) as stub:
        yield stub


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_token_is_obtained_and_verifies(tsa):
    token = timestamp(DIGEST, tsa.url)

    assert token.gen_time == FIXED
    assert token.serial_number == 1
    assert token.policy == POLICY
    assert token.hash_alg == "sha256"
    assert token.tsa_subject == "O=SOXauto tests,CN=SOXauto Test TSA"
    assert token.tsa_fingerprint == hashlib.sha256(tsa.cert.public_bytes(Encoding.DER)).hexdigest()
    # what went over the wire: our digest, a nonce echoed back, and certReq set
    [sent] = tsa.requests
    request = tsp.TimeStampReq.load(sent)
    assert request["message_imprint"]["hashed_message"].native == DIGEST
    assert request["nonce"].native == token.nonce
    assert request["cert_req"].native is True
    # offline re-verification, with and without pinning the TSA certificate
    assert verify_token(token.token, DIGEST) == FIXED
    assert verify_token(token.token, DIGEST, tsa.cert_pem) == FIXED
    assert verify_token(token.token, DIGEST, tsa.cert) == FIXED


def test_gen_time_is_the_tsa_clock_now():
    before = datetime.now(timezone.utc)
    with TsaStub() as stub:
        token = timestamp(DIGEST, stub.url)
    after = datetime.now(timezone.utc)
    assert before <= token.gen_time <= after
    assert token.gen_time.tzinfo is not None and token.gen_time.utcoffset() == timedelta(0)


def test_token_for_another_digest_fails(tsa):
    token = timestamp(DIGEST, tsa.url)
    other = hashlib.sha256(b"ledger entry 8").digest()
    with pytest.raises(IntegrityError, match=f"is for digest {HEAD}, not {other.hex()}"):
        verify_token(token.token, other)


def test_flipped_signature_byte_fails(tsa):
    token = timestamp(DIGEST, tsa.url).token
    signature = cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].native
    at = token.rindex(signature) + len(signature) - 1
    with pytest.raises(IntegrityError, match="signature does not verify with the TSA certificate O=SOXauto tests"):
        verify_token(flip(token, at), DIGEST)


def test_edited_gen_time_in_tstinfo_fails(tsa):
    token = timestamp(DIGEST, tsa.url).token
    assert token.count(b"20250131235958.5Z") == 1
    forged = token.replace(b"20250131235958.5Z", b"20250131235959.5Z")
    with pytest.raises(IntegrityError, match=r"TSTInfo\) does not match its signed message digest"):
        verify_token(forged, DIGEST)


def test_flipped_imprint_byte_fails(tsa):
    token = timestamp(DIGEST, tsa.url).token
    with pytest.raises(IntegrityError, match="is for digest"):
        verify_token(flip(token, token.index(DIGEST)), DIGEST)


def test_truncated_token_fails(tsa):
    token = timestamp(DIGEST, tsa.url).token
    with pytest.raises(IntegrityError, match="not a well-formed RFC 3161 token"):
        verify_token(token[:-10], DIGEST)


def test_token_from_another_tsa_fails_when_the_tsa_is_pinned(tsa):
    token = timestamp(DIGEST, tsa.url).token
    _, other_cert = make_tsa_identity(key_seed=2, name="Someone Else TSA")
    with pytest.raises(IntegrityError, match="neither the trusted TSA certificate O=SOXauto tests,CN=Someone Else TSA"):
        verify_token(token, DIGEST, other_cert)


def test_a_certificate_not_for_time_stamping_fails():
    with TsaStub(clock=fixed_clock, purpose=ExtendedKeyUsageOID.CODE_SIGNING) as stub:
        with pytest.raises(IntegrityError, match="lacks the critical extendedKeyUsage timeStamping"):
            timestamp(DIGEST, stub.url)


def test_wrong_nonce_from_a_misbehaving_tsa_fails():
    with TsaStub(behaviour="wrong_nonce", clock=fixed_clock) as stub:
        with pytest.raises(IntegrityError, match=r"nonce \d+ does not match the request's \d+"):
            timestamp(DIGEST, stub.url)
        sent = tsp.TimeStampReq.load(stub.requests[0])["nonce"].native
    assert sent > 0


def test_rejection_status_fails():
    with TsaStub(behaviour="reject") as stub:
        with pytest.raises(EngineError, match="refused the timestamp request: status rejection; unsupported algorithm; failure bad_alg"):
            timestamp(DIGEST, stub.url)


def test_http_error_is_an_engine_error():
    with TsaStub(behaviour="http_error") as stub:
        with pytest.raises(EngineError, match="answered HTTP 500"):
            timestamp(DIGEST, stub.url)


def test_an_answer_that_is_not_rfc3161_is_an_engine_error():
    with TsaStub(behaviour="garbage") as stub:
        with pytest.raises(EngineError, match="did not answer with an RFC 3161 TimeStampResp"):
            timestamp(DIGEST, stub.url)


def test_unreachable_tsa_raises_engine_error_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the port is closed now: connecting is refused at once
    start = time.monotonic()
    with pytest.raises(EngineError, match=f"TSA http://127.0.0.1:{port}/tsr is unreachable"):
        timestamp(DIGEST, f"http://127.0.0.1:{port}/tsr", timeout=5)
    assert time.monotonic() - start < 2


def test_digest_of_the_wrong_length_is_a_usage_error(tsa):
    with pytest.raises(UsageError, match="a sha256 digest has 32 bytes, got 20"):
        timestamp(b"\x00" * 20, tsa.url)
    with pytest.raises(UsageError, match="did you mean 'sha256'"):
        timestamp(DIGEST, tsa.url, hash_alg="sha265")


def test_anchor_record_round_trip(tsa):
    record = anchor_ledger_head(HEAD.upper(), tsa.url)

    assert {k: v for k, v in record.items() if k != "token"} == {
        "kind": "rfc3161",
        "tsa_url": tsa.url,
        "digest_algorithm": "sha256",
        "digest": HEAD,
        "gen_time": "2025-01-31T23:59:58.500000Z",
        "serial_number": "1",
        "policy": POLICY,
        "tsa_subject": "O=SOXauto tests,CN=SOXauto Test TSA",
        "tsa_sha256": hashlib.sha256(tsa.cert.public_bytes(Encoding.DER)).hexdigest(),
    }
    assert verify_anchor(record, HEAD) == FIXED
    assert verify_anchor(record, HEAD, trusted_cert=tsa.cert_pem) == FIXED


def test_pinned_certificate_from_settings(tsa, tmp_path: Path):
    record = anchor_ledger_head(HEAD, tsa.url)
    (tmp_path / "tsa.der").write_bytes(tsa.cert.public_bytes(Encoding.DER))
    settings = settings_from_env({"SOXAUTO_TSA_URL": tsa.url, "SOXAUTO_TSA_CERT": str(tmp_path / "tsa.der")})
    assert verify_anchor(record, HEAD, trusted_cert=settings.trusted_tsa_cert()) == FIXED
    _, other = make_tsa_identity(key_seed=3, name="Pinned Elsewhere TSA")
    (tmp_path / "tsa.der").write_bytes(other.public_bytes(Encoding.DER))
    with pytest.raises(IntegrityError, match="nor issued by it"):
        verify_anchor(record, HEAD, trusted_cert=settings.trusted_tsa_cert())
    (tmp_path / "tsa.der").write_bytes(b"not a certificate")
    with pytest.raises(UsageError, match="trusted TSA certificate is not a PEM or DER X.509 certificate"):
        verify_anchor(record, HEAD, trusted_cert=settings.trusted_tsa_cert())


def test_anchor_record_for_another_head_or_edited_fails(tsa):
    record = anchor_ledger_head(HEAD, tsa.url)
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(IntegrityError, match=f"is for ledger head {HEAD}, not {other}"):
        verify_anchor(record, other)
    with pytest.raises(IntegrityError, match="its token says 2025-01-31T23:59:58.500000Z"):
        verify_anchor({**record, "gen_time": "2025-01-01T00:00:00Z"}, HEAD)
    with pytest.raises(IntegrityError, match="is for digest"):
        verify_anchor({**record, "digest": other}, other)
    with pytest.raises(UsageError, match="is not a SHA-256 hash"):
        anchor_ledger_head("abc", tsa.url)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_ts_verify_accepts_the_exported_token(tsa, tmp_path: Path):
    record = anchor_ledger_head(HEAD, tsa.url)
    files = export_for_openssl(record, tmp_path / "export")
    assert files["token"].read_bytes() == base64.b64decode(record["token"])
    assert files["certificate"].read_bytes() == tsa.cert_pem
    # the steps of docs/anchors.md, from the stored record
    (tmp_path / "anchor.json").write_text(json.dumps(record))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=30)

    run(sys.executable, "-c", 'import json, base64; open("ledger-head.tst", "wb").write(base64.b64decode(json.load(open("anchor.json"))["token"]))')
    assert run("openssl", "pkcs7", "-inform", "DER", "-in", "ledger-head.tst", "-print_certs", "-out", "tsa-cert.pem").returncode == 0
    assert x509.load_pem_x509_certificate((tmp_path / "tsa-cert.pem").read_bytes()) == tsa.cert
    (tmp_path / "tsa-root.pem").write_bytes(tsa.cert_pem)  # a self-signed TSA is its own root
    text = run("openssl", "ts", "-reply", "-token_in", "-in", "ledger-head.tst", "-token_out", "-text").stdout
    assert "Time stamp: Jan 31 23:59:58.5 2025 GMT" in text and "Serial number: 0x01" in text

    def verify(digest_hex: str) -> subprocess.CompletedProcess:
        return run("openssl", "ts", "-verify", "-digest", digest_hex, "-token_in", "-in", "ledger-head.tst",
                   "-CAfile", "tsa-root.pem", "-untrusted", "tsa-cert.pem")

    ok = verify(HEAD)
    assert (ok.returncode, ok.stdout.strip()) == (0, "Verification: OK")
    bad = verify(hashlib.sha256(b"other").hexdigest())
    assert (bad.returncode, bad.stdout.strip()) == (1, "Verification: FAILED")
    assert "message imprint mismatch" in bad.stderr
    # a token signed by someone else than the trusted root fails in openssl too
    _, other = make_tsa_identity(key_seed=2, name="Someone Else TSA")
    (tmp_path / "tsa-root.pem").write_bytes(other.public_bytes(Encoding.PEM))
    assert verify(HEAD).returncode == 1


def test_settings_from_env():
    assert settings_from_env({}) == settings_from_env({"SOXAUTO_EVIDENCE_RETENTION_DAYS": "2562"})
    settings = settings_from_env({
        "SOXAUTO_TSA_URL": "https://tsa.example/tsr",
        "SOXAUTO_TSA_CERT": "/etc/soxauto/tsa.pem",
        "SOXAUTO_EVIDENCE_S3_BUCKET": "audit-evidence",
        "SOXAUTO_EVIDENCE_S3_PREFIX": "cpg1/",
        "SOXAUTO_EVIDENCE_RETENTION_DAYS": "30",
    })
    assert (settings.tsa_url, str(settings.tsa_cert), settings.s3_bucket, settings.s3_prefix, settings.retention_days) == (
        "https://tsa.example/tsr", "/etc/soxauto/tsa.pem", "audit-evidence", "cpg1/", 30,
    )
    assert settings.retain_until(FIXED) == datetime(2025, 3, 2, 23, 59, 58, 500000, tzinfo=timezone.utc)
    off = settings_from_env({})
    assert (off.tsa_url, off.tsa_cert, off.s3_bucket, off.s3_prefix, off.retention_days) == (None, None, None, "evidence/", 2562)
    with pytest.raises(UsageError, match="SOXAUTO_EVIDENCE_RETENTION_DAYS='7y' is not a whole number"):
        settings_from_env({"SOXAUTO_EVIDENCE_RETENTION_DAYS": "7y"})
    with pytest.raises(UsageError, match="SOXAUTO_TSA_CERT=/etc/soxauto/tsa.pem: cannot read the TSA certificate"):
        settings.trusted_tsa_cert()
    assert off.trusted_tsa_cert() is None
    with pytest.raises(UsageError, match="SOXAUTO_TSA_URL='tsa.example' is not an http"):
        settings_from_env({"SOXAUTO_TSA_URL": "tsa.example"})
