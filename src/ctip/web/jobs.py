"""Background jobs for work that takes longer than a page should wait: hotspots, verification.

A page starts a job (or finds the same job already running or done) and shows its progress;
the browser polls ``/jobs/{id}`` (a small JSON answer) and reloads the page when the job is
done. Without JavaScript the page refreshes itself. A job belongs to the agency that started
it: another agency asking for its id gets 404, like for any record it may not see.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ctip.errors import CtipError
from ctip.hub.errors import NotFoundError

log = logging.getLogger("ctip.web.jobs")
MAX_JOBS = 200
HUB_WIDE = "*"  # a job about the whole hub (the audit chain), visible to every agency


@dataclass
class Job:
    id: str
    agency_id: str
    kind: str
    key: tuple[Any, ...]
    steps: int
    status: str = "running"  # running, done, failed
    step: int = 0
    message: str = "queued"
    result: Any = None
    error: str = ""
    hint: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def progress(self) -> float:
        if self.status != "running":
            return 1.0
        return min(0.99, self.step / max(self.steps, 1))

    def public(self) -> dict[str, Any]:
        """What the browser may know: progress and messages, never the result itself."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 3),
            "message": self.message,
            "error": self.error,
            "hint": self.hint,
            "seconds": round((self.finished_at or time.time()) - self.started_at, 1),
        }


class JobProgress:
    """Handed to the work: ``step(message)`` advances the bar by one of the job's steps."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def step(self, message: str) -> None:
        self.job.step = min(self.job.step + 1, self.job.steps)
        self.job.message = message


class JobRunner:
    """One worker thread per process: heavy numerical work would only compete for the cores."""

    def __init__(self, workers: int = 1) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ctip-web-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._by_key: dict[tuple[Any, ...], str] = {}
        self._lock = threading.Lock()

    def find(self, agency_id: str, kind: str, key: tuple[Any, ...]) -> Job | None:
        """The latest job with this key, if any."""
        with self._lock:
            job_id = self._by_key.get((agency_id, kind, *key))
            return self._jobs.get(job_id) if job_id else None

    def submit(
        self,
        agency_id: str,
        kind: str,
        key: tuple[Any, ...],
        work: Callable[[JobProgress], Any],
        *,
        steps: int,
        retry: bool = False,
    ) -> Job:
        """Start ``work`` unless the same job is running or done (or failed, unless ``retry``);
        returns the job."""
        existing = self.find(agency_id, kind, key)
        if existing is not None and not (retry and existing.status == "failed"):
            return existing
        job = Job(secrets.token_urlsafe(12), agency_id, kind, key, steps)
        with self._lock:
            self._jobs[job.id] = job
            self._by_key[(agency_id, kind, *key)] = job.id
            while len(self._jobs) > MAX_JOBS:
                _, dropped = self._jobs.popitem(last=False)
                self._by_key.pop((dropped.agency_id, dropped.kind, *dropped.key), None)
        self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[JobProgress], Any]) -> None:
        job.message = "started"
        try:
            job.result = work(JobProgress(job))
            job.message = "done"
            job.status = "done"
        except CtipError as error:
            job.error, job.hint = error.message, error.hint or ""
            job.status = "failed"
        except Exception as error:  # the job fails, the server keeps running
            log.exception("job %s failed", job.kind)
            job.error = f"the job failed ({type(error).__name__}); the error was logged"
            job.status = "failed"
        finally:
            job.finished_at = time.time()

    def alias(self, agency_id: str, kind: str, key: tuple[Any, ...], job: Job) -> None:
        """Make ``find`` with this key return ``job`` (the latest run of a repeatable job)."""
        with self._lock:
            self._by_key[(agency_id, kind, *key)] = job.id

    def get(self, job_id: str, agency_id: str) -> Job:
        """A job of this agency (or a hub-wide one, agency "*"); any other id answers 404."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.agency_id not in (agency_id, HUB_WIDE):
            raise NotFoundError("no such job")
        return job

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
