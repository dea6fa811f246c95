"""A local simulator of the AWX REST API v2 endpoints ``coldrig serve --dispatch awx`` uses -- NOT AWX.

Written from AWX's API documentation (the browsable API's view docstrings, also published as the
Oracle Linux Automation Manager API reference) and AWX's views and serializers:

``GET /api/v2/job_templates/{id}/launch/``
    what a launch may set: ``ask_variables_on_launch``, ``ask_limit_on_launch``, ...,
    ``variables_needed_to_start`` (required survey variables), ``survey_enabled``,
    ``can_start_without_user_input``, ``job_template_data``.
``POST /api/v2/job_templates/{id}/launch/``
    201 with ``job`` (the id), ``ignored_fields`` and the job's fields, ``Location``. A manual
    launch does not refuse a field the template does not prompt for: AWX puts it in
    ``ignored_fields`` and launches anyway (``JobTemplateLaunch`` passes
    ``_exclude_errors=('prompts',)``). 400 ``{"variables_needed_to_start": ["'x' value missing"]}``
    when a required survey variable is missing, 400 ``{"extra_vars": [...]}`` when extra_vars is
    not a JSON object or a string of one.
``GET /api/v2/jobs/{id}/``
    ``status``: new, pending, waiting, running, then successful, failed, error or canceled;
    ``failed``, ``started``, ``finished``, ``elapsed``, ``job_explanation``, ``limit``,
    ``extra_vars`` (a JSON string), ``artifacts`` (the playbook's ``set_stats``),
    ``event_processing_finished`` (false until every event of a finished job is saved).
``GET /api/v2/jobs/{id}/job_events/``
    ``{"count", "next", "previous", "results"}``; ``next``/``previous`` are paths with the query
    (``/api/v2/jobs/7/job_events/?page=2&...``); ``page_size`` (default 25, at most 200),
    ``order_by`` and the ``counter__gt`` lookup; each event: ``id``, ``type``, ``url``,
    ``created``, ``modified``, ``job``, ``event``, ``counter``, ``event_display``,
    ``event_data`` (``play``, ``task``, ``host``, ``res``, ``task_action``; the stats event
    carries the counts ``ok``, ``changed``, ``dark``, ``failures``, ...), ``failed``,
    ``changed``, ``uuid``, ``parent_uuid``, ``host_name``, ``play``, ``task``, ``role``,
    ``stdout``, ``start_line``, ``end_line``, ``verbose``.
``GET`` / ``POST /api/v2/jobs/{id}/cancel/``
    ``{"can_cancel": bool}``; POST: 202 (no body) when the job is new, pending, waiting or
    running, else 405 ``{"detail": "Method \\"POST\\" not allowed."}``.

Authentication: ``Authorization: Bearer <token>``; without a known token every endpoint answers
401 ``{"detail": "Authentication credentials were not provided. ..."}`` with
``WWW-Authenticate``. An unknown id: 404 ``{"detail": "Not found."}``.

A job runs through its states over time (``step`` seconds per state and per event): pending,
waiting, running with its events appearing one by one (a play, then per host of the limit a
task start and an ok -- or a failure, for a host in the template's ``fail_hosts`` -- then the
stats), the end status, and ``event_processing_finished`` one step later. What it does not
simulate: running a playbook (the events are the template's script), projects, inventories,
credentials, workflow jobs, the UI, websockets.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.http_api import ApiSimulator, cli_parser, serve_until_signalled

API_PREFIX = "/api/v2"
UNAUTHENTICATED = "Authentication credentials were not provided. To establish a login session, visit /api/login/."
FINISHED = ("successful", "failed", "error", "canceled")
ASK_FIELDS = ("ask_variables_on_launch", "ask_limit_on_launch", "ask_inventory_on_launch", "ask_tags_on_launch",
              "ask_skip_tags_on_launch", "ask_job_type_on_launch", "ask_verbosity_on_launch",
              "ask_credential_on_launch", "ask_diff_mode_on_launch", "ask_scm_branch_on_launch")
PROMPTED = {"extra_vars": "ask_variables_on_launch", "limit": "ask_limit_on_launch",
            "inventory": "ask_inventory_on_launch", "job_tags": "ask_tags_on_launch",
            "skip_tags": "ask_skip_tags_on_launch", "job_type": "ask_job_type_on_launch",
            "verbosity": "ask_verbosity_on_launch", "diff_mode": "ask_diff_mode_on_launch",
            "scm_branch": "ask_scm_branch_on_launch"}
MAX_PAGE_SIZE = 200


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AwxApiError(Exception):
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None):
        super().__init__(status, body)
        self.status, self.body, self.headers = status, body, dict(headers or {})


@dataclass
class JobTemplate:
    id: int
    name: str
    playbook: str = "playbooks/onboard.yml"
    ask_variables_on_launch: bool = True
    ask_limit_on_launch: bool = True
    required_variables: tuple[str, ...] = ()  # a survey's required questions
    fail_hosts: tuple[str, ...] = ()  # hosts whose task fails in a job of this template
    artifacts: dict = field(default_factory=dict)  # what the playbook gives set_stats
    extra_vars: dict = field(default_factory=dict)  # the template's own variables
    tasks: tuple[str, ...] = ("Seed the mailboxes",)


@dataclass
class Job:
    id: int
    template: JobTemplate
    extra_vars: dict
    limit: str
    launched: float
    script: list[tuple[str, dict]]  # (event, event_data) in order
    step: float
    canceled_at: float | None = None
    cancel_requests: int = 0


class AwxSimulator(ApiSimulator):
    """In-process HTTP simulator of AWX's API v2 job template and job endpoints on 127.0.0.1."""

    server_name = "awx-sim"
    api_prefix = API_PREFIX

    def __init__(self, tokens: Iterable[str] = ("awx-test-token",), host: str = "127.0.0.1", port: int = 0,
                 step: float = 0.3):
        super().__init__(host, port)
        self._tokens = frozenset(tokens)
        self.step = float(step)
        self._templates: dict[int, JobTemplate] = {}
        self._jobs: dict[int, Job] = {}
        self._next_job = 100
        self._routes = [
            ("GET POST", "/job_templates/{id}/launch", self._launch),
            ("GET", "/jobs/{id}", self._get_job),
            ("GET", "/jobs/{id}/job_events", self._job_events),
            ("GET POST", "/jobs/{id}/cancel", self._cancel),
        ]

    # ---- Python API for tests
    def add_template(self, template_id: int, name: str = "coldrig onboard", **options: Any) -> JobTemplate:
        with self._lock:
            self._templates[template_id] = JobTemplate(id=template_id, name=name, **options)
            return self._templates[template_id]

    def job(self, job_id: int) -> dict[str, Any]:
        with self._lock:
            return self._job_body(self._jobs[job_id], time.time())

    def jobs(self) -> list[int]:
        with self._lock:
            return sorted(self._jobs)

    def launched_with(self, job_id: int) -> tuple[dict, str]:
        """The extra vars and limit a job was launched with."""
        with self._lock:
            job = self._jobs[job_id]
            return dict(job.extra_vars), job.limit

    def cancel_requests(self, job_id: int) -> int:
        with self._lock:
            return self._jobs[job_id].cancel_requests

    # ---- HTTP
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               host_header: str | None = None) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        with self._lock:
            entry = self._record(method, url)
            try:
                self._authenticate(headers)
                path = url.path
                if not path.startswith(API_PREFIX + "/") or not path.endswith("/"):
                    raise AwxApiError(404, {"detail": "Not found."})
                parts = path[len(API_PREFIX):].rstrip("/").split("/")
                routed = self._routed(method, parts)
                if routed is None:
                    raise AwxApiError(404 if self._routed("GET", parts) is None else 405,
                                      {"detail": "Not found."} if self._routed("GET", parts) is None
                                      else {"detail": 'Method "%s" not allowed.' % method})
                handler, params = routed
                payload = self._json(body) if method == "POST" else {}
                status, answer, out_headers = handler(method, params, query, payload)
            except AwxApiError as exc:
                status, answer, out_headers = exc.status, exc.body, exc.headers
            entry["status"] = status
            return status, answer, {"X-API-Product-Name": "AWX", "X-API-Product-Version": "24.6.1", **out_headers}

    def bug_answer(self, exc: Exception) -> Any:
        return {"detail": "simulator bug: %s" % exc}

    def encode(self, status: int, payload: Any) -> tuple[str | None, bytes | None]:
        if payload is None:
            return None, b""
        return super().encode(status, payload)

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _space, token = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self._tokens:
            raise AwxApiError(401, {"detail": UNAUTHENTICATED},
                              {"WWW-Authenticate": 'Bearer realm="api" authorization_url="/api/o/authorize/"'})

    @staticmethod
    def _json(body: bytes) -> dict:
        if not body:
            return {}
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise AwxApiError(400, {"detail": "JSON parse error - %s" % exc}) from None
        if not isinstance(data, dict):
            raise AwxApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got %s."
                                                         % type(data).__name__]})
        return data

    def _template(self, ident: str) -> JobTemplate:
        template = self._templates.get(int(ident)) if ident.isdigit() else None
        if template is None:
            raise AwxApiError(404, {"detail": "Not found."})
        return template

    def _job_of(self, ident: str) -> Job:
        job = self._jobs.get(int(ident)) if ident.isdigit() else None
        if job is None:
            raise AwxApiError(404, {"detail": "Not found."})
        return job

    # ---- launch
    def _launch(self, method, params, _query, payload):
        template = self._template(params["id"])
        if method == "GET":
            info = {key: getattr(template, key, False) for key in ASK_FIELDS}
            info.update({
                "can_start_without_user_input": not template.required_variables,
                "passwords_needed_to_start": [], "variables_needed_to_start": list(template.required_variables),
                "credential_needed_to_start": False, "inventory_needed_to_start": False,
                "job_template_data": {"name": template.name, "id": template.id, "description": ""},
                "survey_enabled": bool(template.required_variables),
                "defaults": {"extra_vars": json.dumps(template.extra_vars), "limit": ""},
            })
            return 200, info, {}
        extra_vars = payload.get("extra_vars", {})
        if isinstance(extra_vars, str):
            try:
                extra_vars = json.loads(extra_vars) if extra_vars.strip() else {}
            except ValueError:
                raise AwxApiError(400, {"extra_vars": ["Cannot parse as JSON (error: %s) or YAML (error: %s)."
                                                       % ("invalid JSON", "not a mapping")]}) from None
        if not isinstance(extra_vars, dict):
            raise AwxApiError(400, {"extra_vars": ["Must be a valid JSON or YAML dictionary."]})
        ignored: dict[str, Any] = {}
        accepted_vars: dict[str, Any] = {}
        missing = ["'%s' value missing" % name for name in template.required_variables if name not in extra_vars]
        if missing:
            raise AwxApiError(400, {"variables_needed_to_start": missing})
        for name in template.required_variables:  # survey answers are accepted without the prompt
            accepted_vars[name] = extra_vars[name]
        rest = {key: value for key, value in extra_vars.items() if key not in accepted_vars}
        if template.ask_variables_on_launch:
            accepted_vars.update(rest)
        elif rest:
            ignored["extra_vars"] = rest
        limit = ""
        for name, ask in PROMPTED.items():
            if name == "extra_vars" or name not in payload:
                continue
            if getattr(template, ask):
                if name == "limit":
                    limit = str(payload[name])
            else:
                ignored[name] = payload[name]
        self._next_job += 1
        now = time.time()
        job = Job(id=self._next_job, template=template, extra_vars={**template.extra_vars, **accepted_vars},
                  limit=limit, launched=now, script=self._script(template, limit), step=self.step)
        self._jobs[job.id] = job
        body = {"job": job.id, "ignored_fields": ignored, **self._job_body(job, now)}
        return 201, body, {"Location": "%s/jobs/%d/" % (API_PREFIX, job.id)}

    @staticmethod
    def _script(template: JobTemplate, limit: str) -> list[tuple[str, dict]]:
        hosts = [host for host in limit.split(",") if host] or ["localhost"]
        play = "Onboard - %s" % template.name
        script: list[tuple[str, dict]] = [("playbook_on_start", {"playbook": template.playbook}),
                                          ("playbook_on_play_start", {"play": play, "name": play, "pattern": limit})]
        counts = ("ok", "changed", "dark", "failures", "skipped", "processed", "rescued", "ignored")
        stats: dict[str, dict[str, int]] = {key: {} for key in counts}
        alive = list(hosts)
        for task in template.tasks:
            script.append(("playbook_on_task_start", {"play": play, "task": task, "name": task,
                                                      "task_action": "ansible.builtin.command"}))
            for host in list(alive):
                stats["processed"][host] = 1
                base = {"play": play, "task": task, "host": host, "task_action": "ansible.builtin.command"}
                if host in template.fail_hosts:
                    script.append(("runner_on_failed", {**base, "res": {"msg": "non-zero return code", "rc": 1,
                                                                        "changed": True}}))
                    stats["failures"][host] = 1
                    alive.remove(host)
                else:
                    script.append(("runner_on_ok", {**base, "res": {"changed": True, "rc": 0}}))
                    stats["ok"][host] = stats["ok"].get(host, 0) + 1
                    stats["changed"][host] = stats["changed"].get(host, 0) + 1
        script.append(("playbook_on_stats", {**stats, "playbook": template.playbook}))
        return script

    # ---- the job over time
    def _progress(self, job: Job, now: float) -> tuple[str, int, float | None, bool]:
        """(status, events visible, finished time, event_processing_finished) at ``now``."""
        step = job.step
        elapsed = (min(now, job.canceled_at) if job.canceled_at else now) - job.launched
        ticks = int(elapsed / step) if step > 0 else 10 ** 9
        if ticks < 1:
            status, shown = "pending", 0
        elif ticks < 2:
            status, shown = "waiting", 0
        else:
            shown = min(len(job.script), ticks - 1)
            status = "running"
        end_tick = len(job.script) + 2
        if job.canceled_at is not None:
            finished = job.canceled_at + step
            status = "canceled" if now >= finished else status
            return status, shown, finished if now >= finished else None, now >= finished + step
        if ticks >= end_tick:
            finished = job.launched + end_tick * step
            status = "failed" if job.template.fail_hosts and set(job.template.fail_hosts) & set(job.limit.split(",")) \
                else "successful"
            return status, len(job.script), finished, ticks >= end_tick + 1
        return status, shown, None, False

    def _job_body(self, job: Job, now: float) -> dict[str, Any]:
        status, _shown, finished, processed = self._progress(job, now)
        started = job.launched + 2 * job.step if status not in ("pending", "waiting") else None
        return {
            "id": job.id, "type": "job", "url": "%s/jobs/%d/" % (API_PREFIX, job.id),
            "related": {"job_events": "%s/jobs/%d/job_events/" % (API_PREFIX, job.id),
                        "cancel": "%s/jobs/%d/cancel/" % (API_PREFIX, job.id),
                        "job_template": "%s/job_templates/%d/" % (API_PREFIX, job.template.id)},
            "summary_fields": {"job_template": {"id": job.template.id, "name": job.template.name}},
            "created": _iso(job.launched), "modified": _iso(now), "name": job.template.name, "description": "",
            "job_type": "run", "playbook": job.template.playbook, "limit": job.limit,
            "extra_vars": json.dumps(job.extra_vars), "launch_type": "manual", "status": status,
            "failed": status in ("failed", "error"), "started": _iso(started), "finished": _iso(finished),
            "canceled_on": _iso(job.canceled_at) if status == "canceled" else None,
            "elapsed": round((finished or now) - (started or now), 3) if started else 0.0,
            "job_explanation": "", "execution_node": "awx-sim", "controller_node": "",
            "result_traceback": "", "event_processing_finished": processed, "job_template": job.template.id,
            "artifacts": job.template.artifacts if status == "successful" else {},
            "passwords_needed_to_start": [],
        }

    def _get_job(self, _method, params, _query, _payload):
        return 200, self._job_body(self._job_of(params["id"]), time.time()), {}

    def _event(self, job: Job, counter: int) -> dict[str, Any]:
        name, data = job.script[counter - 1]
        created = job.launched + (counter + 1) * job.step
        return {
            "id": job.id * 10000 + counter, "type": "job_event",
            "url": "%s/job_events/%d/" % (API_PREFIX, job.id * 10000 + counter),
            "created": _iso(created), "modified": _iso(created), "job": job.id, "event": name, "counter": counter,
            "event_display": name.replace("_", " "), "event_data": dict(data), "event_level": 3 if "host" in data else 1,
            "failed": name == "runner_on_failed", "changed": bool((data.get("res") or {}).get("changed")),
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "%d/%d" % (job.id, counter))), "parent_uuid": "",
            "host": None, "host_name": data.get("host", ""), "playbook": job.template.playbook,
            "play": data.get("play", ""), "task": data.get("task", ""), "role": "", "stdout": "",
            "start_line": counter, "end_line": counter + 1, "verbose": False,
        }

    def _job_events(self, _method, params, query, _payload):
        job = self._job_of(params["id"])
        _status, shown, _finished, _processed = self._progress(job, time.time())
        try:
            page = int(query.get("page", "1"))
            page_size = min(MAX_PAGE_SIZE, int(query.get("page_size", "25")))
            after = int(query["counter__gt"]) if "counter__gt" in query else None
        except ValueError:
            raise AwxApiError(400, {"detail": "invalid page, page_size or counter__gt"}) from None
        if page < 1 or page_size < 1:
            raise AwxApiError(404, {"detail": "Invalid page."})
        order = query.get("order_by", "id")
        if order.lstrip("-") not in ("id", "counter", "created", "start_line"):
            raise AwxApiError(400, {"detail": "order_by: unknown field %s" % order})
        counters = [counter for counter in range(1, shown + 1) if after is None or counter > after]
        if order.startswith("-"):
            counters.reverse()
        total = len(counters)
        if (page - 1) * page_size >= total and page > 1:
            raise AwxApiError(404, {"detail": "Invalid page."})
        chosen = counters[(page - 1) * page_size:page * page_size]
        base = "%s/jobs/%d/job_events/" % (API_PREFIX, job.id)

        def link(number: int) -> str:
            return base + "?" + urlencode({**query, "page": number})

        return 200, {"count": total, "next": link(page + 1) if page * page_size < total else None,
                     "previous": link(page - 1) if page > 1 else None,
                     "results": [self._event(job, counter) for counter in chosen]}, {}

    def _cancel(self, method, params, _query, _payload):
        job = self._job_of(params["id"])
        status = self._progress(job, time.time())[0]
        can_cancel = status in ("new", "pending", "waiting", "running")
        if method == "GET":
            return 200, {"can_cancel": can_cancel}, {}
        job.cancel_requests += 1
        if not can_cancel:
            return 405, {"detail": 'Method "POST" not allowed.'}, {}
        job.canceled_at = time.time()
        return 202, None, {}


def main() -> int:
    parser = cli_parser("A local simulator of the AWX API v2 job template and job endpoints.")
    parser.add_argument("--template", type=int, action="append", default=[], help="a job template id (repeatable)")
    parser.add_argument("--step", type=float, default=0.5, help="seconds per state and per event of a job")
    args = parser.parse_args()
    sim = AwxSimulator(tokens=args.token or ["awx-test-token"], host=args.host, port=args.port, step=args.step)
    for template_id in args.template or [42]:
        sim.add_template(template_id)
    return serve_until_signalled(sim, lambda: {"templates": args.template or [42]})


if __name__ == "__main__":
    raise SystemExit(main())
