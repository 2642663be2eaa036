"""The OIDC and session settings: read from file and environment, the session secret only from
the environment and always masked by ``config show``."""

from __future__ import annotations

import json

from soxauto.cli import run
from soxauto.config import load_config


def test_oidc_settings_from_the_file_and_the_secret_masked(tmp_path, monkeypatch, capsys):
    (tmp_path / "soxauto.toml").write_text('oidc_issuer = "https://acme.okta.com/oauth2/default"\n'
                                           'oidc_audience = "api://soxauto"\n'
                                           'oidc_jwks_url = "https://acme.okta.com/oauth2/default/v1/keys"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOXAUTO_SESSION_SECRET", "very-secret-cookie-key")
    monkeypatch.setenv("SOXAUTO_OIDC_ROLE_CLAIM", "soxauto_roles")
    cfg = load_config()
    assert (cfg.oidc_issuer, cfg.oidc_audience, cfg.oidc_role_claim) == \
        ("https://acme.okta.com/oauth2/default", "api://soxauto", "soxauto_roles")
    assert cfg.session_secret == "very-secret-cookie-key" and "very-secret" not in repr(cfg)
    assert run(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    settings = json.loads(out)["settings"]
    assert settings["session_secret"] == {"value": "****", "source": "SOXAUTO_SESSION_SECRET"}
    assert settings["oidc_jwks_url"]["value"] == "https://acme.okta.com/oauth2/default/v1/keys"
    assert settings["oidc_role_claim"] == {"value": "soxauto_roles", "source": "SOXAUTO_OIDC_ROLE_CLAIM"}
    assert "very-secret" not in out
    assert run(["config", "show"]) == 0
    assert "very-secret" not in capsys.readouterr().out


def test_the_session_secret_is_refused_in_the_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "soxauto.toml").write_text('session_secret = "oops"\n')
    monkeypatch.chdir(tmp_path)
    assert run(["config", "show"]) == 3
    assert "'session_secret' belongs in the environment (SOXAUTO_SESSION_SECRET), not in a file" in capsys.readouterr().err


def test_defaults_leave_oidc_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert (cfg.oidc_issuer, cfg.oidc_role_claim, cfg.session_secret) == ("", "groups", None)
