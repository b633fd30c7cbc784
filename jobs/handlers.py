"""Which handler runs each kind of job."""

from __future__ import annotations

from dal.jobs.records import JobKind
from jobs.exports import run_export
from jobs.imports import run_import
from jobs.privacy.requests import run_privacy
from jobs.reports import run_report
from jobs.run import Handler

HANDLERS: dict[JobKind, Handler] = {
    JobKind.IMPORT: run_import,
    JobKind.EXPORT: run_export,
    JobKind.REPORT: run_report,
    JobKind.PRIVACY: run_privacy,
}
