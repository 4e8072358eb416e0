"""The diagnosis PDF as a job: computed and laid out outside the request that asked for it.

WeasyPrint takes seconds for a large caseload (issue 21 allows 10 s), longer than a
request should wait (issue 22 item 2): `start_diagnosis_pdf` queues it in
`geo_app.jobs` (a thread, or an RQ worker with ``REDIS_URL``) and the page polls
its row; the PDF is kept in the row (``jobs.output``) for its owner to download.
"""

from __future__ import annotations

import secrets

from flask import Flask
from flask import render_template

from geo_app import jobs
from geo_app.reports import service

__all__ = ["REPORT", "TARGETS", "diagnosis_pdf_job", "start_diagnosis_pdf"]

REPORT = "informe_diagnostico"
TARGETS = {REPORT: "geo_app.reports.report_jobs:diagnosis_pdf_job"}


def start_diagnosis_pdf(app: Flask, owner: str, since: str | None, until: str | None):
    """Queue the diagnosis PDF of months [`since`, `until`] for `owner`; return (job_id, handle).

    Each request is a new report (the data may have changed since the last one); the job
    itself runs once however often it is delivered.
    """
    key = f"informe:{secrets.token_hex(12)}"
    params = {"desde": since, "hasta": until}
    return jobs.ensure(app, REPORT, key, TARGETS[REPORT], owner=owner, params=params)


def diagnosis_pdf_job(app: Flask, job_id: int, attempt: int) -> None:
    """Compute the diagnosis in the owner's scope and lay out its PDF (thread or RQ worker)."""
    jobs.run_tracked(app, job_id, attempt, lambda run: _diagnosis_pdf(app, run))


def _diagnosis_pdf(app: Flask, run: jobs.JobRun) -> None:
    scope = jobs.owner_scope(app, run.owner)
    run.progress(0, 2, "Calculando el diagnóstico")
    sessions = app.extensions["revincula.db"]
    with app.test_request_context():  # templates build links (url_for) as in a request
        with sessions() as db:
            try:
                territory = app.extensions["revincula.territory"]
                since, until = run.params.get("desde"), run.params.get("hasta")
                diag = service.diagnosis(db, scope, territory, since, until,
                                         service.app_cache(app))  # fmt: skip
            except service.ReportInputError as err:
                raise jobs.JobError(str(err)) from err
        html = render_template("reports/diagnosis_pdf.html", **service.page_context(diag))
    run.progress(1, 2, "Componiendo el PDF")
    body = service.pdf(html)
    result = {"filename": service.pdf_name(diag), "n_casos": diag.n_cases}
    with sessions() as db, db.begin():
        run.finish(db, result, output=body, message="Informe listo")
