# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bulk-import files of the sequencers: their exact CSV headers, in one place.

* Instantly - "Email,Password,SMTP_Host,SMTP_Port,SMTP_Username,IMAP_Host,IMAP_Port,IMAP_Username,Daily_Limit"
  (Instantly's bulk CSV import of SMTP/IMAP accounts).
* Smartlead - "from_name,from_email,user_name,password,smtp_host,smtp_port,imap_host,imap_port,
  max_email_per_day,warmup_enabled,total_warmup_per_day,daily_rampup" (Smartlead's bulk upload; the same
  names as the fields of its email-accounts/save API).
* Reply.io - none: its documentation describes no import file format for mailboxes (email accounts), so
  there is no Reply.io export rather than guessed columns (docs/onboarding-spec.md).

Rows are built from coldrig's mailbox records ({email, name, password, daily_limit}) and the
connection settings of the mail host, and written with the csv module (RFC 4180 quoting, CRLF).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io

INSTANTLY_HEADER = ("Email", "Password", "SMTP_Host", "SMTP_Port", "SMTP_Username", "IMAP_Host", "IMAP_Port",
                    "IMAP_Username", "Daily_Limit")
SMARTLEAD_HEADER = ("from_name", "from_email", "user_name", "password", "smtp_host", "smtp_port", "imap_host",
                    "imap_port", "max_email_per_day", "warmup_enabled", "total_warmup_per_day", "daily_rampup")
FORMATS = ("instantly", "smartlead")


class ExportError(ValueError):
    """A mailbox or a setting that cannot be exported, naming the field."""


def _require(record, key, where):
    value = record.get(key)
    if value is None or value == "":
        raise ExportError("%s: %s is missing" % (where, key))
    return value


def _int(value, field, minimum=0):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ExportError("%s: %r is not a whole number" % (field, value))
    if number < minimum:
        raise ExportError("%s: %d is less than %d" % (field, number, minimum))
    return number


def rows(mailboxes, settings, fmt):
    """The header and the rows of one sequencer's file.

    mailboxes: [{email, name, password, daily_limit}]; settings: {smtp_host, smtp_port, imap_host,
    imap_port, daily_limit, warmup_enabled, warmup_per_day, warmup_rampup}.
    """
    if fmt not in FORMATS:
        raise ExportError("format: %r is not one of %s" % (fmt, ", ".join(FORMATS)))
    smtp_host = _require(settings, "smtp_host", "settings")
    imap_host = _require(settings, "imap_host", "settings")
    smtp_port = _int(settings.get("smtp_port", 587), "settings.smtp_port", 1)
    imap_port = _int(settings.get("imap_port", 993), "settings.imap_port", 1)
    table = []
    for index, box in enumerate(sorted(mailboxes, key=lambda item: item.get("email", ""))):
        where = "mailboxes[%d]" % index
        email = _require(box, "email", where)
        if not box.get("password"):
            raise ExportError("%s (%s): password is missing - the controller has no confirmed password for it; run "
                              "playbooks/mailboxes.yml, which confirms a pending password the node holds and names "
                              "a lost one with the command that gives it a new one (-e '{\"coldrig_rotate_mailboxes\": "
                              "[\"%s\"]}')" % (where, email, email))
        password = box["password"]
        limit = _int(box.get("daily_limit") if box.get("daily_limit") is not None else settings.get("daily_limit", 50),
                     "%s.daily_limit" % where)
        if fmt == "instantly":
            table.append([email, password, smtp_host, smtp_port, email, imap_host, imap_port, email, limit])
        else:
            name = box.get("name") or email.split("@", 1)[0]
            table.append([name, email, email, password, smtp_host, smtp_port, imap_host, imap_port, limit,
                          "TRUE" if settings.get("warmup_enabled", True) else "FALSE",
                          _int(settings.get("warmup_per_day", 20), "settings.warmup_per_day"),
                          _int(settings.get("warmup_rampup", 2), "settings.warmup_rampup")])
    return list(INSTANTLY_HEADER if fmt == "instantly" else SMARTLEAD_HEADER), table


def to_csv(mailboxes, settings, fmt):
    """The CSV text of one sequencer's bulk-import file."""
    header, table = rows(mailboxes, settings, fmt)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(table)
    return out.getvalue()
