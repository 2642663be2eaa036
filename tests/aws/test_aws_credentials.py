"""The boto3 chain as configured: aws_profile and aws_region from the settings, a missing
profile named with the known ones, and where credentials come from shown without the keys."""

from __future__ import annotations

import pytest

from soxauto.aws.credentials import aws_session, describe
from soxauto.config import load_config
from soxauto.errors import UsageError

STATIC = "[sox-static]\naws_access_key_id = AKIAEXAMPLESTATIC01\naws_secret_access_key = s3cr3t/static/key\n"
SSO = """\
[profile sox-sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = SoxAuditor
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
"""


def test_the_configured_profile_and_region_pick_the_credentials(aws_env, monkeypatch):
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(STATIC, "utf-8")
    monkeypatch.setenv("SOXAUTO_AWS_PROFILE", "sox-static")
    monkeypatch.setenv("SOXAUTO_AWS_REGION", "af-south-1")
    cfg = load_config()
    assert (cfg.aws_profile, cfg.aws_region) == ("sox-static", "af-south-1")
    shown = describe(aws_session(cfg))
    assert shown == {"profile": "sox-static", "region": "af-south-1", "method": "shared-credentials-file",
                     "access_key_id": "AKIAEXAMPLESTATIC01"}
    assert "s3cr3t" not in repr(shown)


def test_an_identity_center_profile_is_resolved_by_boto3_itself(aws_env):
    aws_env.parent.mkdir(parents=True)
    (aws_env.parent / "config").write_text(SSO, "utf-8")
    session = aws_session(profile="sox-sso")
    assert (session.profile_name, session.region_name) == ("sox-sso", "eu-west-1")
    # boto3 reads the sso-session; the token comes from 'aws sso login', never from soxauto.
    assert session._session.get_scoped_config()["sso_session"] == "corp"


def test_an_unknown_profile_names_the_close_one_and_how_to_create_it(aws_env):
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(STATIC, "utf-8")
    with pytest.raises(UsageError) as e:
        aws_session(profile="sox-statik")
    assert str(e.value) == ("AWS profile 'sox-statik' is not configured; did you mean 'sox-static'?; known profiles: "
                            "sox-static. Set one up with 'aws configure sso' or 'soxauto auth okta --profile sox-statik ...'")


def test_the_mssql_connection_setting_is_secret_and_environment_only(aws_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SOXAUTO_MSSQL_CONNECTION", "DSN=NAV;UID=svc;PWD=hunter2")
    shown = {key: value for key, value, _ in load_config().shown()}
    assert shown["mssql_connection"] == "****"
    monkeypatch.delenv("SOXAUTO_MSSQL_CONNECTION")
    (tmp_path / "soxauto.toml").write_text('mssql_connection = "DSN=NAV;PWD=hunter2"\n', "utf-8")
    with pytest.raises(UsageError, match=r"'mssql_connection' belongs in the environment \(SOXAUTO_MSSQL_CONNECTION\)"):
        load_config()
