"""External anchors: an RFC 3161 timestamp of the ledger head, and where anchors are configured.

A timestamp token proves that the ledger head (and so every manifest chained before it) existed
at the TSA's ``genTime``: rewriting history afterwards would change the head and break the token.

Errors: a TSA that cannot be reached, answers HTTP errors, refuses the request or does not speak
RFC 3161 is an ``EngineError`` (no anchor could be obtained); a token that does not verify (wrong
imprint, nonce, signature, certificate) is an ``IntegrityError``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from ..errors import EngineError, IntegrityError, UsageError, did_you_mean

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
_TIME_STAMPING = x509.oid.ExtendedKeyUsageOID.TIME_STAMPING
# SEC Rule 2-06 of Regulation S-X: audit records are kept seven years after the audit.
DEFAULT_RETENTION_DAYS = 7 * 366


class TimeStampResp(core.Sequence):
    """RFC 3161 TimeStampResp; asn1crypto's own declares the token mandatory, but a refusal has none."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


@dataclass(frozen=True)
class AnchorSettings:
    tsa_url: str | None
    tsa_cert: Path | None
    s3_bucket: str | None
    s3_prefix: str
    retention_days: int

    def retain_until(self, now: datetime) -> datetime:
        return now.astimezone(timezone.utc) + timedelta(days=self.retention_days)

    def trusted_tsa_cert(self) -> bytes | None:
        """The pinned TSA certificate's bytes (PEM or DER), for ``verify_anchor``; None if not pinned."""
        if self.tsa_cert is None:
            return None
        try:
            return self.tsa_cert.read_bytes()
        except OSError as e:
            raise UsageError(f"SOXAUTO_TSA_CERT={self.tsa_cert}: cannot read the TSA certificate ({e.strerror})") from None


def settings_from_env(environ: Mapping[str, str] | None = None) -> AnchorSettings:
    """Anchors configured by environment; an unset variable switches that anchor off."""
    env = os.environ if environ is None else environ
    raw_days = env.get("SOXAUTO_EVIDENCE_RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS)
    if not raw_days.strip().isdigit() or int(raw_days) < 1:
        raise UsageError(
            f"SOXAUTO_EVIDENCE_RETENTION_DAYS={raw_days!r} is not a whole number of days >= 1; "
            f"set it to e.g. {DEFAULT_RETENTION_DAYS} (seven years) or unset it"
        )
    url = env.get("SOXAUTO_TSA_URL") or None
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError(f"SOXAUTO_TSA_URL={url!r} is not an http(s) URL; e.g. https://freetsa.org/tsr")
    cert = env.get("SOXAUTO_TSA_CERT") or None
    return AnchorSettings(
        tsa_url=url,
        tsa_cert=Path(cert) if cert else None,
        s3_bucket=env.get("SOXAUTO_EVIDENCE_S3_BUCKET") or None,
        s3_prefix=env.get("SOXAUTO_EVIDENCE_S3_PREFIX", "evidence/"),
        retention_days=int(raw_days),
    )


@dataclass(frozen=True)
class TimestampToken:
    """A verified RFC 3161 token; ``token`` is the DER ContentInfo an auditor feeds to openssl."""

    token: bytes
    digest: bytes
    hash_alg: str
    gen_time: datetime
    serial_number: int
    policy: str
    nonce: int | None
    tsa_certificate: x509.Certificate

    @property
    def tsa_subject(self) -> str:
        return self.tsa_certificate.subject.rfc4514_string()

    @property
    def tsa_fingerprint(self) -> str:
        return self.tsa_certificate.fingerprint(hashes.SHA256()).hex()


def timestamp(digest: bytes, url: str, *, timeout: float = 10, hash_alg: str = "sha256") -> TimestampToken:
    """Ask the TSA at ``url`` to timestamp ``digest`` (already a ``hash_alg`` digest) and verify the answer."""
    _check_digest(digest, hash_alg)
    nonce = secrets.randbits(63) + 1
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": hash_alg}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    })
    reply = _post(url, request.dump(), timeout)
    try:
        response = TimeStampResp.load(reply, strict=True)
        status = response["status"]["status"].native
    except (ValueError, TypeError) as e:
        raise EngineError(f"TSA {url} did not answer with an RFC 3161 TimeStampResp ({e}); check SOXAUTO_TSA_URL") from None
    if status not in ("granted", "granted_with_mods"):
        text = response["status"]["status_string"].native or []
        info = response["status"]["fail_info"].native or []
        raise EngineError(
            f"TSA {url} refused the timestamp request: status {status}"
            f"{'; ' + ' '.join(text) if text else ''}{'; failure ' + ', '.join(sorted(info)) if info else ''}"
        )
    if response["time_stamp_token"].native is None:
        raise IntegrityError(f"TSA {url} granted the request but sent no token")
    return read_token(response["time_stamp_token"].dump(), digest, nonce=nonce)


def verify_token(token_bytes: bytes, digest: bytes, trusted_cert: x509.Certificate | bytes | None = None) -> datetime:
    """Re-verify a stored token offline; return its genTime (UTC)."""
    return read_token(token_bytes, digest, trusted_cert).gen_time


def read_token(
    token_bytes: bytes, digest: bytes, trusted_cert: x509.Certificate | bytes | None = None, *, nonce: int | None = None
) -> TimestampToken:
    """Parse and verify a TimeStampToken for ``digest``; raise ``IntegrityError`` on any defect.

    ``trusted_cert`` pins the TSA: the signing certificate must be it, or be issued by it.
    Without it the token is only checked to be self-consistent (signed by the certificate it carries).
    """
    trusted = _load_cert(trusted_cert)
    try:
        info = cms.ContentInfo.load(token_bytes, strict=True)
        if info["content_type"].native != "signed_data":
            raise IntegrityError(f"timestamp token holds {info['content_type'].native}, not signed_data")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise IntegrityError(f"timestamp token encapsulates {encap['content_type'].native}, not tst_info")
        tst_der = encap["content"].contents
        tst = tsp.TSTInfo.load(tst_der, strict=True)
        tst.native  # parse every field now so a damaged one fails here, not later
        if len(signed["signer_infos"]) != 1:
            raise IntegrityError(f"timestamp token has {len(signed['signer_infos'])} signers, expected 1")
        signer = signed["signer_infos"][0]
        cert = _signer_certificate(signed, signer, trusted)
        hash_alg = _check_imprint(tst, digest)
        if nonce is not None and tst["nonce"].native != nonce:
            raise IntegrityError(
                f"timestamp nonce {tst['nonce'].native} does not match the request's {nonce} (replayed answer?)"
            )
        gen_time = tst["gen_time"].native.astimezone(timezone.utc)
        _check_signed_attrs(signer, tst_der, cert)
        _check_signature(signer, cert)
        _check_tsa_certificate(cert, gen_time, trusted)
    except IntegrityError:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise IntegrityError(f"timestamp token is not a well-formed RFC 3161 token: {e}") from None
    return TimestampToken(
        token=bytes(token_bytes), digest=digest, hash_alg=hash_alg, gen_time=gen_time,
        serial_number=tst["serial_number"].native, policy=tst["policy"].dotted, nonce=tst["nonce"].native,
        tsa_certificate=cert,
    )


def anchor_ledger_head(head_hash_hex: str, url: str, *, timeout: float = 10) -> dict:
    """Timestamp the ledger head; return the record to store next to the ledger (JSON-ready)."""
    token = timestamp(_head_digest(head_hash_hex), url, timeout=timeout)
    return {
        "kind": "rfc3161",
        "tsa_url": url,
        "digest_algorithm": token.hash_alg,
        "digest": head_hash_hex.lower(),
        "gen_time": token.gen_time.isoformat().replace("+00:00", "Z"),
        "serial_number": str(token.serial_number),
        "policy": token.policy,
        "tsa_subject": token.tsa_subject,
        "tsa_sha256": token.tsa_fingerprint,
        "token": base64.b64encode(token.token).decode("ascii"),
    }


def verify_anchor(record: Mapping, head_hash_hex: str, trusted_cert: x509.Certificate | bytes | None = None) -> datetime:
    """Check that ``record`` timestamps ``head_hash_hex`` and matches its token; return genTime."""
    if str(record.get("digest", "")).lower() != head_hash_hex.lower():
        raise IntegrityError(f"anchor record is for ledger head {record.get('digest')}, not {head_hash_hex}")
    try:
        raw = base64.b64decode(record["token"], validate=True)
    except (KeyError, ValueError) as e:
        raise IntegrityError(f"anchor record has no readable token: {e}") from None
    token = read_token(raw, _head_digest(head_hash_hex), trusted_cert)
    stated = token.gen_time.isoformat().replace("+00:00", "Z")
    if record.get("gen_time") != stated or record.get("tsa_sha256") != token.tsa_fingerprint:
        raise IntegrityError(
            f"anchor record says genTime {record.get('gen_time')} by TSA {record.get('tsa_sha256')}, "
            f"its token says {stated} by {token.tsa_fingerprint}"
        )
    return token.gen_time


def export_for_openssl(record: Mapping, folder: Path) -> dict[str, Path]:
    """Write the token (DER) and the TSA certificate it carries (PEM) for ``openssl ts -verify``."""
    raw = base64.b64decode(record["token"], validate=True)
    signed = cms.ContentInfo.load(raw)["content"]
    folder.mkdir(parents=True, exist_ok=True)
    token_path, cert_path = folder / "ledger-head.tst", folder / "tsa-cert.pem"
    token_path.write_bytes(raw)
    pems = [
        x509.load_der_x509_certificate(c.chosen.dump()).public_bytes(serialization.Encoding.PEM)
        for c in signed["certificates"] or [] if c.name == "certificate"
    ]
    cert_path.write_bytes(b"".join(pems))
    return {"token": token_path, "certificate": cert_path}


def _post(url: str, body: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - URL is configuration
            return reply.read()
    except urllib.error.HTTPError as e:
        e.close()
        raise EngineError(f"TSA {url} answered HTTP {e.code} {e.reason}; check SOXAUTO_TSA_URL and the TSA's status") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise EngineError(f"TSA {url} is unreachable ({reason}); check SOXAUTO_TSA_URL and the network") from None


def _check_digest(digest: bytes, hash_alg: str) -> None:
    if hash_alg not in _HASHES:
        raise UsageError(f"unsupported timestamp hash {hash_alg!r}{did_you_mean(hash_alg, _HASHES)}; use one of {sorted(_HASHES)}")
    if len(digest) != _HASHES[hash_alg].digest_size:
        raise UsageError(f"a {hash_alg} digest has {_HASHES[hash_alg].digest_size} bytes, got {len(digest)}")


def _head_digest(head_hash_hex: str) -> bytes:
    try:
        digest = bytes.fromhex(head_hash_hex)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise UsageError(f"ledger head {head_hash_hex!r} is not a SHA-256 hash (64 hex digits)")
    return digest


def _check_imprint(tst: tsp.TSTInfo, digest: bytes) -> str:
    imprint = tst["message_imprint"]
    alg = imprint["hash_algorithm"]["algorithm"].native
    if imprint["hashed_message"].native != digest:
        raise IntegrityError(
            f"timestamp token is for digest {imprint['hashed_message'].native.hex()}, not {digest.hex()}"
        )
    if alg not in _HASHES or _HASHES[alg].digest_size != len(digest):
        raise IntegrityError(f"timestamp imprint uses {alg}, which does not fit a {len(digest)}-byte digest")
    return alg


def _load_cert(cert: x509.Certificate | bytes | None) -> x509.Certificate | None:
    if cert is None or isinstance(cert, x509.Certificate):
        return cert
    try:
        if cert.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(cert)
        return x509.load_der_x509_certificate(cert)
    except ValueError as e:
        raise UsageError(f"the trusted TSA certificate is not a PEM or DER X.509 certificate ({e}); check SOXAUTO_TSA_CERT") from None


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo, trusted: x509.Certificate | None) -> x509.Certificate:
    sid = signer["sid"]
    candidates = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    for cert in candidates:
        if sid.name == "issuer_and_serial_number":
            if cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native:
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    if trusted is not None:
        return trusted  # a token requested without certReq: the signature check decides
    raise IntegrityError("timestamp token does not carry its signer's certificate; pass the TSA certificate to verify it")


def _check_signed_attrs(signer: cms.SignerInfo, tst_der: bytes, cert: x509.Certificate) -> None:
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"] or []}
    if "content_type" not in attrs or attrs["content_type"].native != "tst_info":
        raise IntegrityError("timestamp signature does not cover the content type tst_info")
    alg = signer["digest_algorithm"]["algorithm"].native
    if alg not in _HASHES:
        raise IntegrityError(f"timestamp token is signed over an unsupported digest {alg}")
    if "message_digest" not in attrs or attrs["message_digest"].native != _digest(alg, tst_der):
        raise IntegrityError("timestamp token content (TSTInfo) does not match its signed message digest: it was altered")
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    if "signing_certificate_v2" in attrs:
        cert_id = attrs["signing_certificate_v2"]["certs"][0]
        expected = _digest(cert_id["hash_algorithm"]["algorithm"].native, cert_der)
    elif "signing_certificate" in attrs:
        cert_id = attrs["signing_certificate"]["certs"][0]
        expected = hashlib.sha1(cert_der, usedforsecurity=False).digest()  # ESS v1 is defined over SHA-1
    else:
        raise IntegrityError("timestamp token lacks the ESS signing-certificate attribute RFC 3161 requires")
    if cert_id["cert_hash"].native != expected:
        raise IntegrityError("timestamp token names a different signing certificate than the one it carries")


def _check_signature(signer: cms.SignerInfo, cert: x509.Certificate) -> None:
    # The signature covers the DER of the signed attributes as a SET OF (tag 0x31), not as the
    # [0] IMPLICIT field they are stored in (RFC 5652, 5.4); the original bytes are kept.
    data = b"\x31" + signer["signed_attrs"].dump()[1:]
    signature = signer["signature"].native
    algo = signer["signature_algorithm"]
    digest = _HASHES[signer["digest_algorithm"]["algorithm"].native]()
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if algo.signature_algo == "rsassa_pss":
                salt = algo["parameters"]["salt_length"].native
                key.verify(signature, data, padding.PSS(padding.MGF1(digest), salt), digest)
            else:
                key.verify(signature, data, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            raise IntegrityError(f"timestamp token is signed with an unsupported key type {type(key).__name__}")
    except InvalidSignature:
        raise IntegrityError(
            f"timestamp token signature does not verify with the TSA certificate {cert.subject.rfc4514_string()}"
        ) from None


def _check_tsa_certificate(cert: x509.Certificate, gen_time: datetime, trusted: x509.Certificate | None) -> None:
    name = cert.subject.rfc4514_string()
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or not eku.critical or list(eku.value) != [_TIME_STAMPING]:
        raise IntegrityError(f"TSA certificate {name} lacks the critical extendedKeyUsage timeStamping (RFC 3161, 2.3)")
    if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
        raise IntegrityError(f"TSA certificate {name} was not valid at genTime {gen_time.isoformat()}")
    if trusted is None or cert == trusted:
        return
    try:
        cert.verify_directly_issued_by(trusted)
    except (ValueError, TypeError, InvalidSignature):
        raise IntegrityError(
            f"TSA certificate {name} is neither the trusted TSA certificate "
            f"{trusted.subject.rfc4514_string()} nor issued by it"
        ) from None


def _digest(alg: str, data: bytes) -> bytes:
    if alg not in _HASHES:
        raise IntegrityError(f"timestamp token uses an unsupported hash {alg}")
    return hashlib.new(alg, data).digest()
