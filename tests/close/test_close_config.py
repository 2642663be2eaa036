"""Configuration: defaults that run the demo, soxauto.toml, SOXAUTO_* variables, options on
top, and ``soxauto config show`` with secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soxauto.cli import run
from soxauto.config import load_config
from soxauto.errors import UsageError

SECRET_KEY = "MC4CAQAwBQYDK2VwBCIEIE1d7cjVtXv0Nnq4RXm1rPsb3CQn0xKX2bQVoP1kJ3qT"


def test_defaults_run_the_demo_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config({"SOXAUTO_HOME": str(tmp_path / "h"), "SOXAUTO_USER": "ana"})
    assert cfg.lake == Path("demo-lake") and cfg.binding is None and cfg.engine == "duckdb"
    assert cfg.parallelism == 2 and cfg.user == "ana" and cfg.file is None
    assert cfg.evidence_store == tmp_path / "h" / "evidence"
    assert cfg.reports == tmp_path / "h" / "reports"
    assert cfg.run_store == f"sqlite:///{tmp_path}/h/runs.sqlite"
    assert cfg.source_of("parallelism") == "default" and cfg.source_of("user") == "env"


def test_file_then_environment_then_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "soxauto.toml").write_text(
        'lake = "lakes/prod"\nparallelism = 3\nrun_store = "postgresql+psycopg://close:s3cret@db.internal/soxauto"\n'
        'signing_key_file = "keys/close.pem"\n')
    env = {"SOXAUTO_CONFIG": str(tmp_path / "conf" / "soxauto.toml"), "SOXAUTO_PARALLELISM": "4",
           "SOXAUTO_HOME": str(tmp_path / "h")}
    cfg = load_config(env)
    assert cfg.lake == tmp_path / "conf" / "lakes" / "prod"  # relative to the file's folder
    assert cfg.signing_key_file == tmp_path / "conf" / "keys" / "close.pem"
    assert cfg.parallelism == 4 and cfg.source_of("parallelism") == "env"
    assert cfg.run_store == "postgresql+psycopg://close:s3cret@db.internal/soxauto"
    shown = {k: (v, s) for k, v, s in cfg.shown()}
    assert shown["run_store"] == ("postgresql+psycopg://close:***@db.internal/soxauto", str(tmp_path / "conf" / "soxauto.toml"))
    assert shown["parallelism"] == ("4", "SOXAUTO_PARALLELISM")
    over = cfg.override(binding=Path("b.yaml"), parallelism=1)
    assert over.binding == tmp_path / "b.yaml" and over.lake is None and over.parallelism == 1
    assert over.source_of("binding") == "option"


def test_an_environment_binding_beats_a_file_lake(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "soxauto.toml").write_text('lake = "x"\n')
    cfg = load_config({"SOXAUTO_BINDING": str(tmp_path / "b.yaml")})
    assert cfg.binding == tmp_path / "b.yaml" and cfg.lake is None and cfg.file == tmp_path / "soxauto.toml"


@pytest.mark.parametrize("text, message", [
    ('paralelism = 2\n', "unknown setting 'paralelism'; did you mean 'parallelism'?"),
    ('signing_key = "abc"\n', "'signing_key' belongs in the environment (SOXAUTO_SIGNING_KEY), not in a file; "
                              "put the key in a file and set signing_key_file"),
    ('parallelism = 0\n', "parallelism = 0: give a number of workers from 1 to 64"),
    ('parallelism = "two"\n', "parallelism = 'two' is not a whole number"),
    ('engine = "duckbd"\n', "is not an engine; did you mean 'duckdb'?"),
    ('run_store = "not a url"\n', "run_store is not a database URL"),
    ('lake = \n', "not valid TOML"),
])
def test_bad_files_say_what_and_how_to_fix(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "soxauto.toml").write_text(text)
    with pytest.raises(UsageError) as e:
        load_config({})
    assert message in str(e.value) and str(tmp_path / "soxauto.toml") in str(e.value)


def test_config_show_masks_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOXAUTO_SIGNING_KEY", SECRET_KEY)
    monkeypatch.setenv("SOXAUTO_RUN_STORE", "postgresql+psycopg://close:hunter2@db/soxauto")
    assert run(["config", "show", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["file"] is None
    assert doc["settings"]["signing_key"] == {"value": "****", "source": "SOXAUTO_SIGNING_KEY"}
    assert doc["settings"]["run_store"] == {"value": "postgresql+psycopg://close:***@db/soxauto", "source": "SOXAUTO_RUN_STORE"}
    assert doc["settings"]["parallelism"] == {"value": "2", "source": "default"}
    assert run(["config", "show"]) == 0
    text = capsys.readouterr().out
    assert "hunter2" not in text and SECRET_KEY not in text and "close:***@db" in text and "SOXAUTO_PARALLELISM" in text


def test_a_missing_default_lake_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(["close", "--period", "2025-09"]) == 3
    assert "lake folder demo-lake does not exist (default); run 'make demo'" in capsys.readouterr().err
