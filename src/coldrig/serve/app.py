"""The HTTP API of ``coldrig serve`` (docs/serve.md)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from coldrig.serve import auth, page as job_page, request as req
from coldrig.serve.jobs import Busy, Conflict, Gone, JobManager, NotFound, NotReady
from coldrig.serve.store import FINISHED, STATES, Replayed, Store

LOG = logging.getLogger("coldrig.serve")
SSE_POLL = 0.2
SSE_KEEPALIVE = 15.0


def _error(status: int, detail, **extra) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def _iso(value):
    return datetime.fromtimestamp(value, timezone.utc).isoformat() if value else None


def _public(job: dict) -> dict:
    base = f"/v1/jobs/{job['id']}"
    return {
        "id": job["id"], "state": job["state"], "created": _iso(job["created"]), "started": _iso(job["started"]),
        "finished": _iso(job["finished"]), "rc": job["rc"], "inventory": job["inventory"], "nodes": job["nodes"],
        "playbook": job["playbook"], "spec": job["spec"], "recap": job.get("recap") or {},
        "summary": job.get("summary"),
        "explanation": job["explanation"], "exports": job["exports"],
        "urls": {"self": base, "events": base + "/events", "cancel": base + "/cancel", "exports": base + "/exports"},
    }


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` bytes (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(config, store: Store | None = None, manager: JobManager | None = None) -> FastAPI:
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = store or Store(config.data_dir / "jobs.sqlite3")
    manager = manager or JobManager(config, store)
    checker = req.spec_checker(config.project_dir)
    validate = req.validate_module(config.project_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        manager.start()
        yield
        manager.stop()

    app = FastAPI(title="coldrig serve", version="1", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store, app.state.manager = store, manager

    def _authenticate(request: Request, body: bytes) -> JSONResponse | None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            digest = auth.verify(request.headers.get(auth.HEADER), body, config.secrets, config.replay_window,
                                 method=request.method, path=path)
            if request.method != "GET":
                store.remember_signature(digest, time.time() + 2 * config.replay_window)
        except auth.AuthError as exc:
            return _error(401, str(exc))
        except Replayed:
            return _error(401, f"{auth.HEADER}: this signature was used already (a replay); "
                               "sign every request afresh")
        return None

    @app.post("/v1/onboardings", status_code=202, openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": {"type": "object"}}}}})
    async def onboard(request: Request):
        body = await _read_body(request, config.max_body)
        if body is None:
            return _error(413, f"body: longer than {config.max_body} bytes")
        refused = await run_in_threadpool(_authenticate, request, body)
        if refused:
            return refused
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"body: not JSON ({type(exc).__name__} at position {getattr(exc, 'pos', '?')})")
        except RecursionError:
            return _error(400, f"body: JSON nested deeper than this server parses (a spec nests at most {req.MAX_DEPTH})")
        problems = req.problems(data, config.inventories, checker, validate)
        if not problems:
            problems = manager.dispatcher.request_problems(req.spec_of(data))
        if problems:
            return _error(422, "the onboarding request has problems", errors=problems)
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= 200:
            return _error(422, "Idempotency-Key: give 1 to 200 characters", errors=["Idempotency-Key: bad length"])
        spec = req.spec_of(data)
        try:
            job, created = await run_in_threadpool(
                manager.submit, spec=spec, masked_spec=req.masked(spec), nodes=data["nodes"],
                inventory=data.get("inventory") or config.default_inventory, on_busy=data.get("on_busy", "wait"),
                idempotency_key=key, body_sha256=hashlib.sha256(body).hexdigest(),
                callback_url=data.get("callback_url"))
        except Busy as exc:
            return _error(409, f"nodes: {', '.join(exc.args[0])} busy with another job (on_busy: refuse)")
        except Conflict:
            return _error(409, "Idempotency-Key: already used for a request with another body")
        public = _public(job)
        return JSONResponse({"id": job["id"], "state": job["state"], "created": created, "urls": public["urls"]},
                            status_code=202, headers={"Location": public["urls"]["self"]})

    async def _authorised(request: Request) -> JSONResponse | None:
        body = await _read_body(request, config.max_body)
        if body is None:
            return _error(413, f"body: longer than {config.max_body} bytes")
        return await run_in_threadpool(_authenticate, request, body)

    @app.get("/v1/jobs")
    async def jobs(request: Request):
        refused = await _authorised(request)
        if refused:
            return refused
        state, limit = request.query_params.get("state"), request.query_params.get("limit", "100")
        if state is not None and state not in STATES:
            return _error(422, f"state: {state!r} is not one of {', '.join(STATES)}")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return _error(422, f"limit: {limit!r} is not a whole number from 1 to 1000")
        rows = await run_in_threadpool(store.list, state, int(limit))
        return {"jobs": [_public(row) for row in rows]}

    def _page_query(job_id: str) -> str:
        expires = int(time.time()) + config.page_ttl
        return f"exp={expires}&sig={auth.page_token(config.secrets[0], job_id, expires)}"

    def _page_refused(request: Request, job_id: str) -> JSONResponse | None:
        try:
            auth.verify_page_token(job_id, request.query_params.get("exp"), request.query_params.get("sig"),
                                   config.secrets, config.page_ttl)
        except auth.AuthError as exc:
            return _error(401, str(exc))
        return None

    @app.get("/v1/jobs/{job_id}")
    async def job(request: Request, job_id: str):
        refused = await _authorised(request)
        if refused:
            return refused
        row = await run_in_threadpool(store.get, job_id)
        if row is None:
            return _error(404, f"job {job_id!r}: no such job")
        public = _public(row)
        public["urls"]["page"] = f"/v1/jobs/{job_id}/page?{_page_query(job_id)}"
        return public

    @app.get("/v1/jobs/{job_id}/page", response_class=HTMLResponse)
    async def page(request: Request, job_id: str):
        refused = _page_refused(request, job_id)
        if refused:
            return refused
        row = await run_in_threadpool(store.get, job_id)
        if row is None:
            return _error(404, f"job {job_id!r}: no such job")
        last = await run_in_threadpool(store.last_event, job_id)
        query = f"exp={request.query_params['exp']}&sig={request.query_params['sig']}"
        text, nonce = job_page.render(row, f"/v1/jobs/{job_id}/events?{query}", last)
        return HTMLResponse(text, headers={
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                                       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"})

    @app.post("/v1/jobs/{job_id}/cancel", status_code=202)
    async def cancel(request: Request, job_id: str):
        refused = await _authorised(request)
        if refused:
            return refused
        try:
            row = await run_in_threadpool(manager.cancel, job_id)
        except NotFound:
            return _error(404, f"job {job_id!r}: no such job")
        return JSONResponse(_public(row), status_code=202)

    @app.get("/v1/jobs/{job_id}/exports")
    async def exports(request: Request, job_id: str):
        refused = await _authorised(request)
        if refused:
            return refused
        try:
            files = await run_in_threadpool(manager.take_exports, job_id)
        except NotFound:
            return _error(404, f"job {job_id!r}: no such job")
        except NotReady as exc:
            return _error(409, f"job {job_id}: {exc.args[0]}; the exports come when it has finished")
        except Gone as exc:
            reason = {"fetched": "were fetched already (they are handed out once)",
                      "expired": "were deleted at the end of the retention period",
                      "none": "do not exist: the run exported nothing",
                      "delivering": "are being delivered to the callback URL",
                      "delivered": "were delivered to the callback URL"}.get(exc.args[0], exc.args[0])
            return _error(410, f"job {job_id}: its exports {reason}")
        return JSONResponse({"id": job_id, "files": files}, headers={"Cache-Control": "no-store"})

    @app.get("/v1/jobs/{job_id}/events")
    async def events(request: Request, job_id: str):
        # The job page's EventSource cannot sign: it gives the page's URL token instead.
        if auth.HEADER not in request.headers and "sig" in request.query_params:
            refused = _page_refused(request, job_id)
        else:
            refused = await _authorised(request)
        if refused:
            return refused
        row = await run_in_threadpool(store.get, job_id)
        if row is None:
            return _error(404, f"job {job_id!r}: no such job")
        last = request.headers.get("last-event-id", "0").strip()
        after = int(last) if last.isdigit() else 0

        async def stream():
            nonlocal after
            quiet_since = time.monotonic()
            yield "retry: 1000\n\n"
            while True:
                batch = await run_in_threadpool(store.events, job_id, after)
                for counter, name, data in batch:
                    after = counter
                    yield f"id: {counter}\nevent: {name}\ndata: {data}\n\n"
                    if name == "job_finished":
                        return
                if batch:
                    quiet_since = time.monotonic()
                    continue
                if await request.is_disconnected():
                    return
                if time.monotonic() - quiet_since > SSE_KEEPALIVE:
                    quiet_since = time.monotonic()
                    yield ": keep-alive\n\n"
                await asyncio.sleep(SSE_POLL)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/healthz")
    async def healthz():
        counts = await run_in_threadpool(store.counts)
        return {"status": "ok", "running": counts["running"], "queued": counts["queued"]}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics():
        counts = await run_in_threadpool(store.counts)
        durations = await run_in_threadpool(store.durations)
        lines = ["# HELP coldrig_serve_jobs Jobs in the store by state.", "# TYPE coldrig_serve_jobs gauge"]
        lines += [f'coldrig_serve_jobs{{state="{state}"}} {count}' for state, count in counts.items()]
        lines += ["# HELP coldrig_serve_queue_depth Jobs waiting for a worker or a node.",
                  "# TYPE coldrig_serve_queue_depth gauge", f"coldrig_serve_queue_depth {manager.queue_depth()}",
                  "# HELP coldrig_serve_running Jobs running now.", "# TYPE coldrig_serve_running gauge",
                  f"coldrig_serve_running {manager.running_count()}",
                  "# HELP coldrig_serve_job_duration_seconds Run time of finished jobs.",
                  "# TYPE coldrig_serve_job_duration_seconds summary"]
        for state in sorted(FINISHED):
            values = [duration for name, duration in durations if name == state]
            lines.append(f'coldrig_serve_job_duration_seconds_sum{{state="{state}"}} {sum(values):.3f}')
            lines.append(f'coldrig_serve_job_duration_seconds_count{{state="{state}"}} {len(values)}')
        return "\n".join(lines) + "\n"

    return app
