"""Start ``coldrig serve``: settings, logging, then uvicorn."""

from __future__ import annotations

import logging
import os
import re

from coldrig.serve import config as settings

MAX_CONNECTIONS = 512  # uvicorn answers 503 beyond this many open connections
PAGE_TOKEN = re.compile(r"([?&]sig=)[0-9A-Fa-f]+")


def _mask_page_token(record: logging.LogRecord) -> bool:
    """Mask the ``sig=`` of a job page's URL (auth.page_token) in uvicorn's access log line."""
    if isinstance(record.args, tuple):
        record.args = tuple(PAGE_TOKEN.sub(r"\1****", arg) if isinstance(arg, str) else arg for arg in record.args)
    return True


def serve(config_path: str | None = None, bind: str | None = None, dispatch: str | None = None) -> int:
    import uvicorn  # pylint: disable=import-outside-toplevel

    from coldrig.serve.app import create_app  # pylint: disable=import-outside-toplevel

    environ = dict(os.environ)
    if bind:
        environ["COLDRIG_SERVE_BIND"] = bind
    if dispatch:
        environ["COLDRIG_SERVE_DISPATCH"] = dispatch
    config = settings.load(config_path, environ)
    # The secrets are in memory now; ansible-runner copies the server's environment into every
    # run (and into artifacts/<ident>/command), so they leave the environment.
    os.environ.pop("COLDRIG_SERVE_SECRETS", None)
    os.environ.pop("COLDRIG_SERVE_AWX_TOKEN", None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request's full URL at INFO: a callback URL may carry a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The access log shows each request's path and query: a job page's URL token is masked.
    logging.getLogger("uvicorn.access").addFilter(_mask_page_token)
    app = create_app(config)
    logging.getLogger("coldrig.serve").info(
        "coldrig serve on http://%s (data %s, %d worker(s), dispatch %s, playbook %s)",
        config.bind, config.data_dir, config.concurrency,
        f"awx {config.awx_url} job template {config.awx_job_template}" if config.dispatch == "awx" else "local",
        config.playbook)
    uvicorn.run(app, host=config.host, port=config.port, log_config=None, access_log=True,
                limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=5, server_header=False)
    return 0
