"""The AWX dispatcher: each job launches an AWX job template through AWX's REST API.

launch   ``GET`` then ``POST /job_templates/{awx_job_template}/launch/`` with the spec as
         ``extra_vars`` and the nodes as ``limit`` (the template must prompt on launch for both;
         a launch whose ``ignored_fields`` is not empty is canceled at once: it would run without
         the spec, or on every host of the inventory)
follow   every ``awx_poll_interval`` s: ``GET /jobs/{id}/`` and the new ``/jobs/{id}/job_events/``
         (paged, by ``counter``), until the job has finished and AWX has saved all its events
cancel   ``POST /jobs/{id}/cancel/`` on a cancel, at ``job_timeout``, and when the server stops

The recap comes from the ``playbook_on_stats`` event, the summary from the job's ``artifacts``
(the playbook's ``set_stats``). Secrets do not travel as extra vars: AWX keeps a job's extra
vars in its database and shows them, so a request with a secret value is refused (422) and the
secrets come from the AWX credentials of the job template (docs/awx.md).
"""

from __future__ import annotations

import json
import logging
import time

from coldrig.serve import request as req
from coldrig.serve.dispatch import Dispatcher, Outcome

LOG = logging.getLogger("coldrig.serve")
EVENTS_GRACE = 30.0  # seconds to wait, after the job finished, for AWX to save its last events
STOP_CHECK = 0.2  # seconds between two looks at should_stop while waiting for the next poll
PROMPTS = {"ask_variables_on_launch": "Variables", "ask_limit_on_launch": "Limit"}


class AwxDispatcher(Dispatcher):
    name = "awx"

    def __init__(self, config):
        self.config = config
        self.awx = req.module_util(config.project_dir, "awx")

    def client(self):
        return self.awx.AwxClient(self.config.awx_url, self.config.awx_token, timeout=30.0, max_retries=3,
                                  max_wait=10.0)

    def request_problems(self, spec):
        return [f"{field}: with dispatch awx a request carries no secret (AWX would keep it in the job's extra "
                "vars); give it to the job template as an AWX credential instead (docs/awx.md, Credentials)"
                for field in req.secret_fields(spec)]

    # -- errors in words, naming the setting to fix --------------------------------------------
    def explain(self, exc) -> str:
        template = self.config.awx_job_template
        if exc.status == 401:
            return (f"awx_token: AWX refused the token ({exc}); set COLDRIG_SERVE_AWX_TOKEN to a valid "
                    "OAuth2 token of a user who may launch the job template")
        if exc.status == 403:
            return f"awx_token: the token's user may not do this ({exc}); give it Execute on job template {template}"
        if exc.status == 404 and exc.path and "/job_templates/" in exc.path:
            return f"awx_job_template: AWX has no job template {template} ({exc})"
        if exc.status is None:
            return f"awx_url: AWX at {self.config.awx_url} did not answer ({exc})"
        return str(exc)

    # -- one run ----------------------------------------------------------------------------
    def run(self, job, jobdir, spec_file, on_event, should_stop) -> Outcome:
        template = self.config.awx_job_template
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
        deadline = time.monotonic() + self.config.job_timeout
        with self.client() as client:
            try:
                info = client.launch_info(template)
                missing = [label for key, label in PROMPTS.items() if not info.get(key)]
                if missing:
                    return Outcome("error", explanation=(
                        f"awx_job_template: AWX job template {template} does not prompt on launch for "
                        f"{' and '.join(missing)}; turn on Prompt on launch for Variables and Limit (docs/awx.md)"))
                launched = client.launch(template, extra_vars=spec, limit=",".join(job["nodes"]))
            except self.awx.AwxError as exc:
                return Outcome("error", explanation=f"the launch of AWX job template {template} failed: "
                                                    + self.explain(exc))
            awx_id = int(launched["job"])
            (jobdir / "awx_job").write_text(str(awx_id), encoding="utf-8")
            LOG.info("job %s: AWX job %d launched from job template %d", job["id"], awx_id, template)
            ignored = sorted(launched.get("ignored_fields") or {})
            if ignored:
                self._cancel(client, awx_id)
                return Outcome("error", explanation=(
                    f"AWX job {awx_id} ignored {', '.join(ignored)} (job template {template} does not prompt "
                    "for it on launch) and was canceled; turn on Prompt on launch for it (docs/awx.md)"))
            return self._follow(client, awx_id, on_event, should_stop, deadline)

    def _follow(self, client, awx_id, on_event, should_stop, deadline) -> Outcome:
        after, stats, cancel_sent, timed_out, finished_at = 0, None, False, False, None
        while True:
            if not cancel_sent and (should_stop() or time.monotonic() > deadline):
                timed_out = not should_stop()
                cancel_sent = True
                self._cancel(client, awx_id)
            try:
                awx_job = client.job(awx_id)
                for event in client.job_events(awx_id, after):
                    counter = event.get("counter")
                    if isinstance(counter, int):
                        after = max(after, counter)
                    if event.get("event") == "playbook_on_stats":
                        stats = event.get("event_data") or {}
                    on_event(event)
            except self.awx.AwxError as exc:
                if not cancel_sent:
                    self._cancel(client, awx_id)
                return Outcome("error", explanation=f"following AWX job {awx_id} failed: {self.explain(exc)}; "
                                                    "it was asked to cancel")
            status = awx_job.get("status")
            if status in self.awx.FINISHED:
                finished_at = finished_at or time.monotonic()
                if awx_job.get("event_processing_finished") or time.monotonic() - finished_at > EVENTS_GRACE:
                    return self._outcome(awx_id, awx_job, stats, timed_out)
            self._wait(self.config.awx_poll_interval, should_stop, cancel_sent)

    @staticmethod
    def _wait(seconds, should_stop, cancel_sent) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if should_stop() and not cancel_sent:
                return
            time.sleep(STOP_CHECK)

    @staticmethod
    def _outcome(awx_id, awx_job, stats, timed_out) -> Outcome:
        status = awx_job["status"]
        state = "timeout" if status == "canceled" and timed_out else status
        explanation = None
        if status != "successful":
            said = (awx_job.get("job_explanation") or "").strip()
            explanation = f"AWX job {awx_id} ended {status}" + (f": {said}" if said else "")
        artifacts = awx_job.get("artifacts") if isinstance(awx_job.get("artifacts"), dict) else None
        return Outcome(state=state, rc=None, stats=stats, artifacts=artifacts or None, explanation=explanation)

    def _cancel(self, client, awx_id) -> str:
        try:
            taken = client.cancel(awx_id)
        except self.awx.AwxError as exc:
            LOG.warning("AWX job %d: the cancel failed: %s", awx_id, self.explain(exc))
            return f"the cancel of AWX job {awx_id} failed ({self.explain(exc)})"
        LOG.info("AWX job %d: %s", awx_id, "cancel requested" if taken else "had finished (405 on cancel)")
        return f"AWX job {awx_id} was asked to cancel" if taken else f"AWX job {awx_id} had finished"

    def recover(self, job_id, jobdir) -> str | None:
        try:
            awx_id = int((jobdir / "awx_job").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        with self.client() as client:
            return self._cancel(client, awx_id)
