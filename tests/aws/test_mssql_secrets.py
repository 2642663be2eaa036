"""SQL Server logins from AWS Secrets Manager (moto): the binding names the secret, the engine
reads it through the boto3 chain, fills the server and database the binding leaves out, reads
it again once when the server refuses the login (a rotation), and after max_age_seconds; and no
password reaches a log, standard output, an error, a repr or the evidence. No SQL Server runs:
``fakesqlserver`` stands in for pyodbc.connect."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pyodbc
import pytest
from fakesqlserver import Server, odbc_pairs
from leakscan import gathered, leaked, log_everything

from soxauto.aws.okta import quiet_aws_logs
from soxauto.aws.secrets import SecretSource, SecretSpec
from soxauto.cli import run
from soxauto.engines.mssql import MssqlEngine
from soxauto.errors import BindingError, EngineError, UsageError
from soxauto.lake.binding import load_binding

REGION = "eu-west-1"
SECRET_ID = "prod/soxauto/nav-dw"
FIRST, ROTATED = "Pw1-'quote;semi}brace", "Pw2-rotated!%u00e9"
BINDING = f"""\
engine: mssql
connection:
  driver: ODBC Driver 18 for SQL Server
  options: {{Encrypt: "yes"}}
  credentials:
    secrets_manager: {{secret_id: {SECRET_ID}, region: {REGION}}}
"""


def secret_text(password: str) -> str:
    # The shape AWS's RDS/SQL Server rotation functions keep.
    return json.dumps({"engine": "sqlserver", "host": "nav-dw.acme.internal", "port": 1433, "dbname": "AIG_Nav_DW",
                       "username": "svc_soxauto", "password": password})


@pytest.fixture
def secrets(sts):
    """moto's Secrets Manager holding the first login; every cached login forgotten."""
    SecretSource.forget()
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=SECRET_ID, SecretString=secret_text(FIRST))
    yield client
    SecretSource.forget()


@pytest.fixture
def binding(tmp_path):
    path = tmp_path / "nav.yaml"
    path.write_text(BINDING, "utf-8")
    return load_binding(path)


def rotate(client, server: Server) -> None:
    """What the rotation function does (its own request, which botocore would log at DEBUG, is
    not the product's: it is kept out of the capture)."""
    with quiet_aws_logs():
        client.put_secret_value(SecretId=SECRET_ID, SecretString=secret_text(ROTATED))
    server.password = ROTATED


def engine_on(binding, server: Server, **options) -> MssqlEngine:
    return MssqlEngine(binding, environ={}, connect=server.connect, **options)


def test_the_login_and_the_missing_server_and_database_come_from_the_secret(secrets, binding):
    server = Server("svc_soxauto", FIRST)
    engine = engine_on(binding, server)

    engine.connection()

    (attempt,) = server.attempts
    assert odbc_pairs(attempt) == {"DRIVER": "ODBC Driver 18 for SQL Server", "SERVER": "nav-dw.acme.internal,1433",
                                   "DATABASE": "AIG_Nav_DW", "ENCRYPT": "yes", "UID": "svc_soxauto", "PWD": FIRST}
    assert engine.version().startswith("Microsoft SQL Server 2019")


def test_a_rotated_password_is_read_again_once_after_the_server_refuses_the_cached_one(secrets, binding, caplog):
    caplog.set_level(logging.INFO)
    server = Server("svc_soxauto", FIRST)
    engine_on(binding, server).connection()  # reads the secret: the first password is cached
    rotate(secrets, server)

    engine = engine_on(binding, server)
    engine.connection()

    assert server.passwords_tried() == [FIRST, FIRST, ROTATED]
    assert engine._secret.reads == 1  # the refusal's one re-read; the first engine made the other
    assert f"refused the login of secret {SECRET_ID}; trying its current version" in caplog.text
    # the next worker's engine starts from the re-read login
    engine_on(binding, server).connection()
    assert server.passwords_tried()[-1] == ROTATED


def test_a_refused_login_with_an_unchanged_secret_is_an_error_without_a_retry_loop(secrets, binding):
    server = Server("svc_soxauto", "not-what-the-secret-holds")
    engine = engine_on(binding, server)

    with pytest.raises(EngineError) as e:
        engine.connection()

    assert server.passwords_tried() == [FIRST]  # the re-read found the same login: no second attempt
    assert "Login failed for user 'svc_soxauto'" in str(e.value)
    assert f"the login of secret {SECRET_ID} has not changed since it was read" in str(e.value)
    assert FIRST not in str(e.value) and FIRST not in repr(e.value)


def test_a_login_older_than_max_age_is_read_again():
    answers = iter(["v1", "v2"])
    now = [1000.0]
    spec = SecretSpec(SECRET_ID, max_age_seconds=600)

    def read(_spec):
        return {"SecretString": json.dumps({"username": "u", "password": "p"}), "VersionId": next(answers)}

    source = SecretSource(spec, read=read, clock=lambda: now[0], config=None)
    SecretSource.forget()
    try:
        assert source.login().version_id == "v1"
        now[0] += 599
        assert source.login().version_id == "v1" and source.reads == 1
        now[0] += 1
        assert source.login().version_id == "v2" and source.reads == 2
    finally:
        SecretSource.forget()


def test_an_unknown_secret_and_a_malformed_one_are_usage_errors_naming_the_fix(secrets, binding):
    missing = SecretSource(SecretSpec("prod/soxauto/nav-dvv", REGION), config=None)
    with pytest.raises(UsageError, match=r"AWS Secrets Manager has no secret prod/soxauto/nav-dvv in eu-west-1 "
                                         r"\(stage AWSCURRENT\); check connection.credentials.secrets_manager"):
        missing.login()
    secrets.create_secret(Name="prod/bad", SecretString=json.dumps({"username": "svc", "pass": FIRST}))
    with pytest.raises(UsageError) as e:
        SecretSource(SecretSpec("prod/bad", REGION), config=None).login()
    assert str(e.value) == ("secret prod/bad has no password; store the login as JSON with username and password "
                            "(and optionally host, port, dbname)")
    assert FIRST not in str(e.value)


def test_the_credentials_block_is_checked_when_the_binding_loads(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("engine: mssql\nconnection:\n  dsn: NAV\n  credentials: {secrets_manager: {secret_ib: x}}\n", "utf-8")
    with pytest.raises(BindingError) as e:
        load_binding(path)
    assert "credentials.secrets_manager has no setting 'secret_ib'; did you mean 'secret_id'?" in str(e.value.problems)
    path.write_text("engine: mssql\nconnection:\n  dsn: NAV\n  credentials: {vault: {path: x}}\n", "utf-8")
    with pytest.raises(BindingError) as e:
        load_binding(path)
    assert "credentials must be {secrets_manager: {secret_id: ..., region: ...}}" in str(e.value.problems)


def test_no_password_reaches_logs_output_errors_or_the_evidence(secrets, binding, tmp_path, monkeypatch, caplog,
                                                               capsys):
    """A whole ``soxauto extract`` on the SQL Server binding, the secret rotated in between so
    the refusal and the re-read happen too, everything captured at DEBUG."""
    log_everything(caplog)
    server = Server("svc_soxauto", FIRST)
    monkeypatch.setattr(pyodbc, "connect", server.connect)
    path = tmp_path / "nav.yaml"
    path.write_text(BINDING, "utf-8")
    argv = ["extract", "CR_04", "--period", "2025-09", "--entity", "EC_NG", "--binding", str(path),
            "--out", str(tmp_path / "out"), "--json"]

    assert run(argv) == 0, capsys.readouterr().err
    rotate(secrets, server)
    assert run(argv) == 0, capsys.readouterr().err
    server.password = "neither"
    with pytest.raises(EngineError) as refused:
        engine_on(binding, server).connection()

    out = capsys.readouterr()
    packages = [Path(json.loads(line)["evidence"]["path"]) for line in _objects(out.out)]
    assert len(packages) == 2 and all((p / "manifest.json").is_file() for p in packages)
    captured = gathered(caplog, out, files=packages, errors=[refused.value],
                        extra=[repr(SecretSource(SecretSpec(SECRET_ID, REGION))), repr(binding)])
    # the capture is real: the reads, the refusal and the statements are all in it
    assert f"read the login of secret {SECRET_ID}" in captured
    assert f"refused the login of secret {SECRET_ID}" in captured
    assert "Login failed for user 'svc_soxauto'" in captured and "[nav].[gl_balances]" in captured
    assert server.passwords_tried()[:4] == [FIRST, FIRST, ROTATED, ROTATED]
    assert leaked([FIRST, ROTATED, secret_text(FIRST), secret_text(ROTATED)], captured) == []
    assert logging.getLogger("botocore").level == logging.DEBUG  # held at WARNING only during the read


def test_without_quieting_botocore_would_log_the_secret(secrets, caplog):
    """Why the read holds botocore at WARNING: its DEBUG log carries the response body."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")
    boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=SECRET_ID)
    assert FIRST.replace("'", "\\'") in caplog.text or json.dumps(FIRST)[1:-1] in caplog.text


def _objects(text: str) -> list[str]:
    """The JSON objects printed one after another (each ``--json`` output is indented)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth, start = depth + 1, (i if depth == 0 else start)
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(text[start:i + 1])
    return out
