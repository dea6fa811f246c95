"""The mailbox password handoff, killed at each step boundary on the onboarded lab node (issue 10, item 16).

Run by verify_mailbox_handoff.yml. A domain of its own (DOMAIN; only Dovecot's passdb serves it, no
mail is routed to it) gets 3 more mailboxes on each run of the real playbooks/mailboxes.yml, and the
run is killed (SIGKILL to ansible-playbook and its children) as soon as the task after a step boundary
starts: after plan, after pending, after apply, after confirm. The same domain is then given a
password rotation that is killed after apply. Then one whole run; every mailbox of the domain must
then be in the credentials file with a password and no pending one, and log in over IMAPS with it.

``run`` mode does the runs and the logins; ``users`` mode reads the node's users file of the domain on
stdin and checks that every line is a mailbox of the credentials file whose password matches the hash.
No password or pending password the credentials file ever held may appear in any run's output.
Exits non-zero with the reason on the first failure.
"""
import argparse
import crypt  # pylint: disable=deprecated-module
import imaplib
import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time

DOMAIN = "handoff-outreach.test"
# The task banner that starts right after each step boundary of playbooks/mailboxes.yml.
BOUNDARIES = [
    ("plan", "TASK [Make the credentials directory of each domain"),
    ("pending", "TASK [Apply - create and rotate"),
    ("apply", "TASK [Confirm - read back the hash"),
    ("confirm read-back", "TASK [Confirm - keep each pending password"),
    ("confirm", "TASK [Name the mailboxes whose password nobody has"),
]
STEP = 3


def fail(message):
    print("FAILED: " + message)
    sys.exit(1)


def credentials(exports):
    path = os.path.join(exports, DOMAIN, "mailboxes.json")
    if not os.path.exists(path):
        return path, []
    if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
        fail("%s has mode %o, not 0600" % (path, stat.S_IMODE(os.stat(path).st_mode)))
    with open(path, encoding="utf-8") as handle:
        return path, json.load(handle)["mailboxes"]


def playbook(args, extra, label, kill_at=None):
    """ansible-playbook playbooks/mailboxes.yml; with ``kill_at`` SIGKILLed when that banner appears. -> (rc, output, killed)."""
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               os.path.join(args.project, "playbooks", "mailboxes.yml")]
    for inventory in args.inventory:
        command += ["--inventory", inventory]
    command += ["--extra-vars", json.dumps(extra)]
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", PYTHONUNBUFFERED="1"))
    lines, killed = [], False
    for line in proc.stdout:
        lines.append(line)
        if kill_at and line.startswith(kill_at):
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
    rest = proc.stdout.read() if not killed else ""
    proc.wait(timeout=600)
    seconds = time.monotonic() - started
    print("  %-36s rc=%-4s %5.1fs%s" % (label, proc.returncode, seconds, " (killed)" if killed else ""))
    return proc.returncode, "".join(lines) + rest, killed


class IMAPS(imaplib.IMAP4_SSL):
    def __init__(self, address, port, context, server_name):
        self._server_name = server_name
        super().__init__(address, port, ssl_context=context, timeout=30)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self._server_name)


def run(args):
    domains = json.loads(args.domains)
    seen, outputs, count = set(), [], 0

    def extra(**more):
        spec = {"name": DOMAIN, "node": args.node, "mailboxes": count, "naming": "first.last", "daily_limit": 5}
        return dict({"coldrig_domains": domains + [spec]}, **more)

    def remember():
        for box in credentials(args.exports)[1]:
            seen.update(value for value in (box.get("password"), box.get("pending")) if value)

    print("mailboxes.yml on %s, killed at each step boundary:" % DOMAIN)
    for step, banner in BOUNDARIES:
        count += STEP
        code, output, killed = playbook(args, extra(), "%d mailboxes, killed after %s" % (count, step), kill_at=banner)
        outputs.append(output)
        if not killed:
            fail("the run to be killed after %s ended (rc %s) before %r:\n%s" % (step, code, banner, output[-3000:]))
        remember()
    code, output, killed = playbook(args, extra(coldrig_rotate_passwords=True), "rotation, killed after apply",
                                    kill_at=BOUNDARIES[2][1])
    outputs.append(output)
    remember()
    code, output, _killed = playbook(args, extra(), "%d mailboxes, the whole run again" % count)
    outputs.append(output)
    remember()
    if code != 0:
        fail("the re-run failed (rc %d):\n%s" % (code, output[-3000:]))
    if "nobody has the password" in output and DOMAIN in output:
        fail("the re-run names mailboxes of %s whose password is lost:\n%s" % (DOMAIN, output[-3000:]))
    path, boxes = credentials(args.exports)
    if len(boxes) != count:
        fail("%s holds %d mailboxes after the re-run, expected %d" % (path, len(boxes), count))
    if not all(box.get("password") and "pending" not in box for box in boxes):
        fail("%s: %s have no password or still a pending one" % (path, [b["email"] for b in boxes if not b.get("password") or "pending" in b]))
    leaked = [index for index, text in enumerate(outputs) if any(secret in text for secret in seen)]
    if leaked:
        fail("a password of the credentials file is in the output of run %s" % leaked)
    context = ssl.create_default_context(cafile=args.ca_file)
    for box in boxes:
        imap = IMAPS(args.address, args.imaps_port, context, args.server_name)
        try:
            imap.login(box["email"], box["password"])
        except imaplib.IMAP4.error as exc:
            fail("IMAPS login of %s with the password of %s failed: %s" % (box["email"], path, exc))
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
    print("%d mailboxes of %s: every one has a password in %s (0600) and logs in over IMAPS with it; "
          "%d passwords made on the way, none in the output of the %d runs" % (count, DOMAIN, path, len(seen), len(outputs)))


def users(args):
    _path, boxes = credentials(args.exports)
    known = dict((box["email"], box.get("password")) for box in boxes)
    lines = [line for line in sys.stdin.read().splitlines() if line and not line.startswith("#")]
    for line in lines:
        email, hashed = line.split(":")[0], line.split(":")[1]
        if not hashed.startswith("{SHA512-CRYPT}$6$"):
            fail("%s: the users file holds %r..., not a SHA512-CRYPT hash" % (email, hashed[:14]))
        hashed = hashed[len("{SHA512-CRYPT}"):]
        if not known.get(email) or crypt.crypt(known[email], hashed) != hashed:
            fail("%s is on the node, but the credentials file has no password that matches its hash" % email)
    if len(lines) != len(known):
        fail("the node has %d mailboxes of %s, the credentials file %d" % (len(lines), DOMAIN, len(known)))
    print("the node's %d users of %s: each hash matches the password of the credentials file" % (len(lines), DOMAIN))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["run", "users"])
    parser.add_argument("--exports", required=True)
    parser.add_argument("--project")
    parser.add_argument("--inventory", action="append", default=[])
    parser.add_argument("--domains")
    parser.add_argument("--node", help="the inventory name of the node that is the handoff domain's home")
    parser.add_argument("--address")
    parser.add_argument("--server-name")
    parser.add_argument("--ca-file")
    parser.add_argument("--imaps-port", type=int)
    args = parser.parse_args()
    run(args) if args.mode == "run" else users(args)  # pylint: disable=expression-not-assigned


if __name__ == "__main__":
    main()
