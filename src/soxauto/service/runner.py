"""Closes started over HTTP, each on a background thread of the server process.

``start`` returns as soon as the close has its run id (it is planned, locked and recorded in
the run store), so the client can follow its progress with ``GET /api/runs/{id}/progress``.
A close refused before that point (a period locked by its sign-off, another close holding the
period, an unknown entity) is raised to the caller as the error it is, not hidden in a thread.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from ..close import CloseRequest, Observer, close
from ..config import Config
from ..errors import SoxautoError

START_TIMEOUT = 120.0


class _Started(Observer):
    def __init__(self):
        self.run_id: str | None = None
        self.ready = threading.Event()

    def started(self, run_id, plan, todo, recon, resumed) -> None:
        self.run_id = run_id
        self.ready.set()


class Runner:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.threads: dict[str, threading.Thread] = {}
        self.errors: dict[str, str] = {}

    def start(self, user: str, period: str | None, entities: tuple[str, ...]) -> str:
        obs = _Started()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                close(replace(self.cfg, user=user), CloseRequest(period, entities), obs)
            except BaseException as e:  # noqa: BLE001  reported to the caller or kept for the run
                failure.append(e)
                if obs.run_id:
                    self.errors[obs.run_id] = f"{e.__class__.__name__}: {e}"
            finally:
                obs.ready.set()

        thread = threading.Thread(target=work, name=f"close-{period or 'latest'}", daemon=True)
        thread.start()
        if not obs.ready.wait(START_TIMEOUT):
            raise SoxautoError(f"the close of {period} did not start within {START_TIMEOUT:.0f} s; see the server log")
        if obs.run_id is None:
            error = failure[0] if failure else SoxautoError("the close ended before it started")
            if isinstance(error, SoxautoError):
                raise error
            raise SoxautoError(f"the close could not start: {error.__class__.__name__}: {error}")
        self.threads[obs.run_id] = thread
        return obs.run_id

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """For tests and a clean shutdown: True once the close's thread has ended."""
        thread = self.threads.get(run_id)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
