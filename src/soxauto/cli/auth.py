"""``soxauto auth okta``: sign in to AWS through Okta and write a named profile (docs/aws-credentials.md).

The password is read from a hidden prompt, or from the first line of standard input with
``--password-stdin``; never from an argument, which would land in the shell history and the
process list. The TOTP code is computed from ``SOXAUTO_OKTA_TOTP_SECRET`` when set, else asked.
A profile that is still valid is left alone and nothing is asked.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import UsageError

app = typer.Typer(no_args_is_help=True, help="Sign in to cloud accounts (AWS through Okta).")
ENV_SECRET = "SOXAUTO_OKTA_TOTP_SECRET"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="auth", help="Sign in to AWS through Okta and write a named profile.")


@app.command("okta")
def okta_cmd(
    org_url: str = typer.Option(..., "--org-url", envvar="SOXAUTO_OKTA_ORG_URL", help="https://ORG.okta.com"),
    app_url: str = typer.Option(..., "--app-url", envvar="SOXAUTO_OKTA_APP_URL",
                                help="The AWS app's embed link: https://ORG.okta.com/home/amazon_aws/0oa.../272"),
    role_arn: str = typer.Option(..., "--role-arn", envvar="SOXAUTO_OKTA_ROLE_ARN", help="IAM role to assume."),
    profile: str = typer.Option(..., "--profile", help="AWS profile to write (then set aws_profile to it)."),
    username: Optional[str] = typer.Option(None, "--username", envvar="SOXAUTO_OKTA_USERNAME",
                                           help="Okta user name (asked when not given)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    duration: int = typer.Option(3600, "--duration", min=900, max=43200, help="Session length in seconds."),
    region: Optional[str] = typer.Option(None, "--region", help="STS region (default: aws_region, else us-east-1)."),
    credentials_file: Optional[Path] = typer.Option(None, "--credentials-file",
                                                    help="Default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials."),
    force: bool = typer.Option(False, "--force", help="Sign in even if the profile is still valid."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Sign in to Okta (password + TOTP), assume ROLE through SAML and write PROFILE with its expiry."""
    from ..aws.okta import OktaSpec, sign_in
    from ..config import load_config

    if not username:
        username = typer.prompt("Okta user name").strip()
    spec = OktaSpec(org_url=org_url, app_url=app_url, role_arn=role_arn, profile=profile, username=username,
                    duration_seconds=duration, region=region or load_config().aws_region,
                    credentials_file=credentials_file)
    result = sign_in(spec, lambda: _password(password_stdin), _passcode, force=force)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    expires = result.to_dict()["expires"]
    if result.refreshed:
        typer.echo(f"profile {result.profile} written to {result.path}: {result.role_arn}, valid until {expires}")
    else:
        typer.echo(f"profile {result.profile} in {result.path} is valid until {expires}; nothing to do "
                   "(--force signs in again)")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
    else:
        text = typer.prompt("Okta password", hide_input=True)
    if not text:
        raise UsageError("no Okta password given" + (" on standard input" if from_stdin else ""))
    return text


def _passcode() -> str:
    from ..aws.totp import secret_bytes, totp

    secret = os.environ.get(ENV_SECRET)
    if secret:
        return totp(secret_bytes(secret))
    code = typer.prompt("Okta TOTP code").strip()
    if not (code.isdigit() and len(code) in (6, 8)):
        raise UsageError("a TOTP code is 6 digits from the authenticator app")
    return code
