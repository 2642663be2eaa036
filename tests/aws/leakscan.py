"""The secret-leak scan of the AWS tests: everything a run could leave a secret in (every log
record at DEBUG, botocore's and httpx's included, standard output and error, files written,
exceptions) gathered into one text, and the secrets looked for in it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

# Libraries that log request URLs and bodies at DEBUG.
NOISY = ("botocore", "boto3", "urllib3", "httpx", "httpcore")


def log_everything(caplog) -> None:
    """Capture every record at DEBUG, with the libraries that log bodies asked for DEBUG too."""
    caplog.set_level(logging.DEBUG)
    for name in NOISY:
        caplog.set_level(logging.DEBUG, logger=name)


def gathered(caplog, out=None, *, files: Iterable[Path] = (), errors: Iterable[BaseException] = (),
             extra: Iterable[str] = ()) -> str:
    """The captured logs (text, messages, arguments and tracebacks), ``out`` (capsys's
    ``readouterr()``), the bytes of ``files`` (folders are walked) and the str and repr of
    ``errors``, as one text."""
    parts = [caplog.text,
             "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)]
    if out is not None:
        parts += [out.out, out.err]
    for path in files:
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            parts.append(file.read_bytes().decode("utf-8", errors="replace"))
    for e in errors:
        parts += [str(e), repr(e), repr(getattr(e, "__cause__", None)), repr(getattr(e, "__context__", None))]
    parts += list(extra)
    return "\n".join(parts)


def leaked(secrets: Iterable[str], text: str) -> list[str]:
    """The secrets found in ``text``, shortened so the failure does not print them whole."""
    return [s[:6] + "..." for s in secrets if s and s in text]
