"""``coldrig serve``: a signed web hook that runs onboardings through ansible-runner.

config   the settings (a TOML file plus COLDRIG_SERVE_* variables)
auth     the request signature (HMAC-SHA256 over ``<timestamp>.<body>``)
request  the POST body: the onboarding spec checked with the spec checker of check.yml
store    the durable job store (SQLite, WAL)
jobs     the worker pool, the per-node locks and one ansible-runner run per job
app      the HTTP API (FastAPI)
"""
