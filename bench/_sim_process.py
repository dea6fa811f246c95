"""An API simulator of tests/support in a Python process of its own, driven over JSON lines.

The benchmarks run the simulator apart from the process they measure from, so that its HTTP
server does not share the GIL with them. The benchmark starts its own script again with
--serve-sim (``SimProcess``); that child builds and seeds the simulator and hands it to
``serve_commands``, which prints ``{"base_url": ..., ...}`` and then answers one JSON line for
each command line on stdin ("reset", "stats", ... as the benchmark defines them) until "stop".
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"


def serve_commands(sim: Any, answer: Callable[[dict[str, Any]], Any], **hello: Any) -> int:
    """Child side: start ``sim``, print its base_url and ``hello``, reply ``answer(message)`` to each command."""
    signal.signal(signal.SIGTERM, lambda *_unused: sys.exit(0))
    sim.start()
    out = sys.stdout
    out.write(json.dumps({"base_url": sim.base_url, **hello}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            message = json.loads(line)
            if message["cmd"] == "stop":
                break
            out.write(json.dumps(answer(message)) + "\n")
            out.flush()
    finally:
        sim.stop()
    return 0


class SimProcess:
    """Parent side: the child running ``script --serve-sim *args``, its hello line, and commands sent to it."""

    def __init__(self, script: str, args: list[str], first_line: Any = None, timeout: float = 60):
        self.timeout = timeout
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(PYTHON), str(Path(script).resolve()), "--serve-sim", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(REPO), start_new_session=True)
        assert self.proc.stdin and self.proc.stdout
        try:
            if first_line is not None:
                self.proc.stdin.write((json.dumps(first_line) + "\n").encode())
                self.proc.stdin.flush()
            self.hello: dict[str, Any] = self._read()
        except BaseException:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise
        self.base_url: str = self.hello["base_url"]

    def _read(self) -> Any:
        assert self.proc.stdout
        if not select.select([self.proc.stdout], [], [], self.timeout)[0]:
            raise RuntimeError("the simulator did not answer within %d s" % self.timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator exited (status %s)" % self.proc.poll())
        return json.loads(line)

    def call(self, cmd: str, **kw: Any) -> Any:
        assert self.proc.stdin
        self.proc.stdin.write((json.dumps({"cmd": cmd, **kw}) + "\n").encode())
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin
                self.proc.stdin.write(b'{"cmd": "stop"}\n')
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
