"""``soxauto serve``: the REST API and the dashboard (docs/service.md), with uvicorn."""

from __future__ import annotations

import typer

from ..config import load_config
from ..errors import UsageError


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: loopback only)."),
        port: int = typer.Option(8000, "--port", help="TCP port."),
    ) -> None:
        """Serve the REST API under /api/ and the dashboard under / until Ctrl-C."""
        import uvicorn

        from ..service import create_app

        if not 0 < port < 65536:
            raise UsageError(f"--port {port}: give a TCP port from 1 to 65535")
        cfg = load_config()
        typer.echo(f"soxauto serve: http://{host}:{port}/  (API under /api/, OpenAPI at /openapi.json)", err=True)
        uvicorn.run(create_app(cfg), host=host, port=port, log_level="info", access_log=False)
