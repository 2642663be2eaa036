"""`soxauto extract` writes a complete, signed, chained evidence package into the store."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evkit import ARTIFACTS, extract_args, ledger_lines, make_lake, manifest, sha

from soxauto.cli import run
from soxauto.evidence.canonical import canonical_bytes



@pytest.fixture
def lake(tmp_path):
    return make_lake(tmp_path / "lake")


def test_extract_writes_every_artifact_and_a_signed_manifest(home, lake, tmp_path, capsys):
    code = run(extract_args(lake, tmp_path / "out"))

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    folder = home / "evidence" / "CR_04_EC_NG_202509"
    assert out["evidence"]["path"] == str(folder)
    assert out["tests"] == {"passed": 7, "failed": 0, "errored": 0}
    assert sorted(p.name for p in folder.iterdir()) == sorted(ARTIFACTS + ["SHA256SUMS", "manifest.json", "manifest.sig"])
    m = manifest(folder)
    assert [a["path"] for a in m["artifacts"]] == ARTIFACTS
    assert all(a["sha256"] == sha(folder / a["path"]) and a["size"] == (folder / a["path"]).stat().st_size for a in m["artifacts"])
    assert {a["path"]: a["role"] for a in m["artifacts"]}["data.parquet"] == "data"
    assert m["evidence_id"] == "CR_04_EC_NG_202509" and m["entity"] == "EC_NG" and m["period"] == "2025-09"
    assert m["item"]["id"] == "CR_04" and m["item"]["version"] == "1.0.0"
    assert m["item"]["query_sha256"] == sha(folder / "query.canonical.sql")
    assert m["row_count"] == 2
    assert m["control_totals"] == {"balance_lcy": "-1249.90"}  # -1500.00 + 250.10
    assert m["tests"] == {"passed": 7, "failed": 0, "errored": 0, "exit_code": 0}
    assert m["previous_manifest_sha256"] is None and m["supersedes_manifest_sha256"] is None
    assert m["created_at"].endswith("Z")
    # The file is its own canonical form: what is hashed and signed is what is on disk.
    assert (folder / "manifest.json").read_bytes() == canonical_bytes(m)
    key = serialization.load_pem_public_key((home / "evidence" / "keys" / f"{m['key_id']}.pub.pem").read_bytes())
    key.verify((folder / "manifest.sig").read_bytes(), (folder / "manifest.json").read_bytes())  # raises if not
    [entry] = ledger_lines(home / "evidence")
    signature = base64.b64decode(entry.pop("signature"))
    assert entry == {
        "seq": 1, "evidence_id": "CR_04_EC_NG_202509", "manifest_sha256": sha(folder / "manifest.json"),
        "prev_entry_sha256": "0" * 64, "run_id": m["run_id"], "time": entry["time"], "key_id": m["key_id"]}
    key.verify(signature, canonical_bytes(entry))  # every other field of the entry is signed


def test_contents_record_the_sql_parameters_data_and_context(home, lake, tmp_path):
    assert run(extract_args(lake, tmp_path / "out")) == 0
    folder = home / "evidence" / "CR_04_EC_NG_202509"

    executed = (folder / "query.sql").read_text()
    assert "READ_PARQUET(" in executed and "b.company_id = $company_id" in executed  # DuckDB dialect, driver placeholders
    assert (folder / "query.canonical.sql").read_text().startswith("SELECT")
    params = json.loads((folder / "parameters.json").read_bytes())
    assert params["parameters"]["cutoff"] == "2025-09-30" and params["types"]["cutoff"] == "date"
    assert params["parameters"]["company_id"] == "EC_NG"
    assert params["driver"]["company_id"] == "EC_NG"
    table = pq.read_table(folder / "data.parquet")
    assert table.column("balance_lcy").to_pylist() == [Decimal("250.10"), Decimal("-1500.00")]
    assert (folder / "data.csv").read_text().splitlines()[0] == \
        '"company_id","closing_date","gl_account_no","currency","balance_lcy","refreshed_at"'
    profile = json.loads((folder / "profile.json").read_bytes())
    balance = next(c for c in profile["columns"] if c["name"] == "balance_lcy")
    assert balance == {"name": "balance_lcy", "type": "money", "arrow_type": "decimal128(18, 2)", "nullable": False,
                       "null_count": 0, "min": "-1500.00", "max": "250.10"}
    assert profile["control_totals"] == {"balance_lcy": "-1249.90"}
    tests = json.loads((folder / "tests.json").read_bytes())
    assert [r["rule_id"] for r in tests["results"]][:2] == ["CR_04.tie_out", "CR_04.not_null"]
    context = json.loads((folder / "context.json").read_bytes())
    assert context["engine"]["name"] == "duckdb" and context["tool"]["name"] == "soxauto"
    assert context["query"]["execution_id"] == manifest(folder)["engine"]["execution_id"]
    steps = [json.loads(line)["step"] for line in (folder / "log.jsonl").read_text().splitlines()]
    assert steps[:5] == ["extract.start", "extract.query", "extract.done", "tests.start", "tests.done"]
    assert steps[-1] == "evidence.artifacts_written"
    html = (folder / "index.html").read_text()
    assert "CR_04_EC_NG_202509" in html and "CR_04.tie_out" in html and "sha256sum -c SHA256SUMS" in html
    assert manifest(folder)["artifacts"][5]["sha256"] in html  # parameters.json's hash is listed


def test_sha256sum_accepts_the_checksums(home, lake, tmp_path):
    assert run(extract_args(lake, tmp_path / "out")) == 0
    folder = home / "evidence" / "CR_04_EC_NG_202509"

    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)

    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(done.stdout.splitlines()) == sorted(f"{n}: OK" for n in ARTIFACTS + ["manifest.json", "manifest.sig"])


def test_a_rerun_supersedes_the_folder_and_keeps_the_earlier_package(home, lake, tmp_path):
    store = home / "evidence"
    assert run(extract_args(lake, tmp_path / "out")) == 0
    first = sha(store / "CR_04_EC_NG_202509" / "manifest.json")
    assert run(extract_args(lake, tmp_path / "out", entity="JM_EG")) == 0
    assert run(extract_args(lake, tmp_path / "out")) == 0

    current = store / "CR_04_EC_NG_202509"
    kept = store / "history" / "CR_04_EC_NG_202509" / "000001"
    assert sha(kept / "manifest.json") == first
    m = manifest(current)
    assert m["supersedes_manifest_sha256"] == first
    assert m["previous_manifest_sha256"] == sha(store / "CR_04_JM_EG_202509" / "manifest.json")
    entries = ledger_lines(store)
    assert [(e["seq"], e["evidence_id"]) for e in entries] == [
        (1, "CR_04_EC_NG_202509"), (2, "CR_04_JM_EG_202509"), (3, "CR_04_EC_NG_202509")]
    assert entries[2]["manifest_sha256"] == sha(current / "manifest.json")
    assert m["fingerprint"] == manifest(kept)["fingerprint"]  # same data, same fingerprint
    assert run(["evidence", "verify", "--all"]) == 0


def test_csv_is_left_out_above_the_row_limit(home, lake, tmp_path):
    assert run(extract_args(lake, tmp_path / "out") + ["--csv-max-rows", "1"]) == 0

    folder = home / "evidence" / "CR_04_EC_NG_202509"
    assert not (folder / "data.csv").exists()
    assert "data.csv" not in [a["path"] for a in manifest(folder)["artifacts"]]
    assert run(["evidence", "verify", str(folder)]) == 0


def test_the_generated_key_is_private_to_its_owner(home, lake, tmp_path, capsys):
    assert run(extract_args(lake, tmp_path / "out")) == 0
    capsys.readouterr()
    key = home / "evidence" / "keys" / "signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    assert run(["keys", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["key_id"] == manifest(home / "evidence" / "CR_04_EC_NG_202509")["key_id"]
    assert shown["source"].endswith("(generated for this store)")
    assert run(["keys", "export", "--out", str(tmp_path / "k.pem")]) == 0
    assert (tmp_path / "k.pem").read_text() == shown["public_key_pem"]


@pytest.mark.parametrize("form", ["base64", "pem", "file"])
def test_a_key_from_the_environment_signs(form, home, lake, tmp_path, monkeypatch, capsys):
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if form == "base64":
        monkeypatch.setenv("SOXAUTO_SIGNING_KEY", base64.b64encode(raw).decode())
    elif form == "pem":
        monkeypatch.setenv("SOXAUTO_SIGNING_KEY", pem.decode())
    else:
        (tmp_path / "key.pem").write_bytes(pem)
        monkeypatch.setenv("SOXAUTO_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    assert run(extract_args(lake, tmp_path / "out")) == 0

    import hashlib
    assert manifest(home / "evidence" / "CR_04_EC_NG_202509")["key_id"] == hashlib.sha256(public_raw).hexdigest()
    assert not (home / "evidence" / "keys" / "signing.key").exists()
    assert run(["evidence", "verify", "--all"]) == 0


def test_a_malformed_key_is_a_usage_error_naming_the_forms(home, lake, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOXAUTO_SIGNING_KEY", "not-a-key")

    assert run(extract_args(lake, tmp_path / "out")) == 3
    assert "base64 of the 32 raw private bytes" in capsys.readouterr().err


def test_openssl_verifies_the_signature_as_documented(home, lake, tmp_path):
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    assert run(extract_args(lake, tmp_path / "out")) == 0
    assert run(["keys", "export", "--out", str(tmp_path / "k.pem")]) == 0
    folder = home / "evidence" / "CR_04_EC_NG_202509"

    done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "k.pem"), "-rawin",
                           "-in", "manifest.json", "-sigfile", "manifest.sig"], cwd=folder, capture_output=True, text=True)

    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout
