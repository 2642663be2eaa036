"""The container and deployment documents: no Docker engine runs in CI, so what can be checked
without one is checked here. The Dockerfile installs exactly as the Makefile (which CI runs),
and every JSON document in docs/deployment.md parses and keeps least privilege."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text("utf-8")
MAKEFILE = (ROOT / "Makefile").read_text("utf-8")
DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text("utf-8")


def pip_commands(lines: list[str], pip: str) -> list[list[str]]:
    """Every ``<pip> install ...`` as argument lists, with the pip path made plain 'pip'."""
    out = []
    for line in lines:
        if pip not in line:
            continue
        words = shlex.split(line)
        if pip in words:
            at = words.index(pip)
            out.append(["pip", *words[at + 1:]])
    return out


def makefile_install() -> list[list[str]]:
    recipe = MAKEFILE.split("$(STAMP): pyproject.toml requirements-dev.txt\n", 1)[1].split("\n\n", 1)[0]
    return pip_commands([ln.strip() for ln in recipe.splitlines()], "$(BIN)/pip")


def dockerfile_install() -> list[list[str]]:
    runs = [ln.removeprefix("RUN ").strip() for ln in DOCKERFILE.splitlines() if ln.startswith("RUN ")]
    return pip_commands(runs, "/opt/venv/bin/pip")


def test_the_dockerfile_installs_exactly_as_the_makefile_except_editable_and_dev():
    make, docker = makefile_install(), dockerfile_install()
    # Both install the lock with hashes and without resolving (--no-deps), then the package.
    assert make == [["pip", "install", "--quiet", "--no-deps", "--require-hashes", "-r", "requirements-dev.txt"],
                    ["pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", "."]]
    # The only differences allowed: a service image installs the runtime part of the same lock
    # (requirements.txt, no test tools) and the package itself (no -e: no source tree to edit).
    swap = {"requirements-dev.txt": "requirements.txt"}
    service = [[swap.get(w, w) for w in cmd if w != "-e"] for cmd in make]
    assert docker == service
    assert "RUN python -m venv /opt/venv" in DOCKERFILE
    assert "COPY pyproject.toml README.md requirements.txt ./" in DOCKERFILE


def test_the_dockerfile_is_multi_stage_slim_non_root_with_health_check_and_serve():
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    assert "COPY --from=build /opt/venv /opt/venv" in DOCKERFILE
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    health = re.search(r"^HEALTHCHECK .*\n\s+CMD (\[.*\])$", DOCKERFILE, re.M)
    assert health and "http://127.0.0.1:8000/health" in json.loads(health.group(1))[-1]
    assert json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M).group(1)) == \
        ["soxauto", "serve", "--host", "0.0.0.0"]


def test_dockerignore_keeps_secrets_and_the_tree_out_of_the_build():
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    for name in (".git", ".venv", ".soxauto", "soxauto.toml", "*.pem", "tests"):
        assert name in ignored
    assert not any(name.startswith("requirements") for name in ignored)  # the lock goes in


def json_documents() -> list[dict]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DEPLOYMENT, re.S)]


def test_every_json_document_in_the_deployment_doc_parses():
    docs = json_documents()
    assert len(docs) == 8
    assert "no Docker engine in CI" in DEPLOYMENT


def by_key(key: str) -> list[dict]:
    return [d for d in json_documents() if key in d]


def test_the_task_definition_matches_the_image():
    (task,) = by_key("containerDefinitions")
    (c,) = task["containerDefinitions"]
    assert c["user"] == "10001" and c["portMappings"] == [{"containerPort": 8000, "protocol": "tcp"}]
    assert "http://127.0.0.1:8000/health" in c["healthCheck"]["command"][-1]
    env = {e["name"] for e in c["environment"]}
    assert {"SOXAUTO_ATHENA_OUTPUT", "SOXAUTO_ATHENA_WORKGROUP", "SOXAUTO_EVIDENCE_S3_BUCKET"} <= env
    # secrets come from Secrets Manager, never as plain environment values
    assert {s["name"] for s in c["secrets"]} == {"SOXAUTO_RUN_STORE", "SOXAUTO_SIGNING_KEY", "SOXAUTO_SESSION_SECRET"}
    assert not env & {"SOXAUTO_RUN_STORE", "SOXAUTO_SIGNING_KEY", "SOXAUTO_SESSION_SECRET"}


def test_the_schedule_starts_at_six_on_days_three_to_ten_and_gates_on_bd3():
    (schedule,) = by_key("ScheduleExpression")
    assert schedule["ScheduleExpression"] == "cron(0 6 3-10 * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Africa/Lagos"
    assert schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    overrides = json.loads(schedule["Target"]["Input"])["containerOverrides"][0]
    assert overrides["name"] == "soxauto"
    assert overrides["command"][-1].startswith("soxauto schedule --due-now || exit 0; soxauto close --period ")


def statements() -> list[dict]:
    return [s for d in by_key("Statement") for s in d["Statement"]]


def test_no_policy_grants_a_wildcard_action_or_an_unscoped_resource():
    for s in statements():
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert all("*" not in a for a in actions), s
        resources = s.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if s["Effect"] == "Allow" and "*" in resources:
            assert actions == ["sts:GetCallerIdentity"], s  # accepts no resource scoping


def test_the_task_policy_covers_what_the_engine_and_evidence_call_and_denies_deletion():
    allowed = {a for s in statements() if s["Effect"] == "Allow"
               for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    engine_calls = {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                    "athena:StopQueryExecution", "athena:GetWorkGroup", "glue:GetTables", "glue:CreateTable",
                    "glue:DeleteTable", "glue:GetDatabase", "glue:CreateDatabase", "s3:GetObject", "s3:PutObject",
                    "s3:DeleteObject", "s3:ListBucket", "s3:PutObjectRetention",
                    "s3:GetBucketObjectLockConfiguration", "sts:AssumeRoleWithSAML"}
    assert engine_calls <= allowed
    (deny,) = [s for s in statements() if s["Effect"] == "Deny"]
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"} <= set(deny["Action"])
    assert all("acme-soxauto-evidence" in r for r in deny["Resource"])
    (delete,) = [s for s in statements() if s["Effect"] == "Allow" and "s3:DeleteObject" in s["Action"]]
    assert delete["Resource"] == "arn:aws:s3:::acme-soxauto-athena-results/soxauto/*"


def test_the_evidence_bucket_is_locked_in_compliance_mode():
    (lock,) = by_key("ObjectLockEnabled")
    assert lock == {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 7}}}


@pytest.mark.parametrize("setting", ["athena_output", "athena_workgroup", "athena_region"])
def test_the_athena_settings_named_in_the_docs_exist(setting):
    from soxauto.config import BY_KEY

    assert BY_KEY[setting].env in DEPLOYMENT
