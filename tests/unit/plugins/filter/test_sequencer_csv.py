import csv
import io

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.filter.sequencer_csv import sequencer_csv

SETTINGS = {"smtp_host": "node1.lab.coldrig.test", "imap_host": "node1.lab.coldrig.test", "daily_limit": 30}
BOXES = [
    {"email": "zoe.hart@send.test", "name": "Zoe Hart", "password": "Pw,with\"quote", "daily_limit": 40},
    {"email": "adam.cole@send.test", "name": "Adam Cole", "password": "S3cretS3cretS3cret", "daily_limit": None},
]


def parse(text):
    return list(csv.reader(io.StringIO(text)))


def test_instantly_has_its_exact_header_and_one_row_per_mailbox_sorted():
    table = parse(sequencer_csv(BOXES, SETTINGS, "instantly"))
    assert table[0] == ["Email", "Password", "SMTP_Host", "SMTP_Port", "SMTP_Username", "IMAP_Host", "IMAP_Port",
                        "IMAP_Username", "Daily_Limit"]
    assert table[1] == ["adam.cole@send.test", "S3cretS3cretS3cret", "node1.lab.coldrig.test", "587",
                        "adam.cole@send.test", "node1.lab.coldrig.test", "993", "adam.cole@send.test", "30"]
    assert table[2][1] == 'Pw,with"quote' and table[2][8] == "40"


def test_smartlead_has_its_exact_header_and_warmup_settings():
    text = sequencer_csv(BOXES, dict(SETTINGS, warmup_per_day=10, warmup_rampup=1), "smartlead")
    assert text.startswith("from_name,from_email,user_name,password,smtp_host,smtp_port,imap_host,imap_port,"
                           "max_email_per_day,warmup_enabled,total_warmup_per_day,daily_rampup\r\n")
    row = parse(text)[1]
    assert row == ["Adam Cole", "adam.cole@send.test", "adam.cole@send.test", "S3cretS3cretS3cret",
                   "node1.lab.coldrig.test", "587", "node1.lab.coldrig.test", "993", "30", "TRUE", "10", "1"]


def test_a_mailbox_without_password_is_an_error_naming_it():
    with pytest.raises(AnsibleFilterError, match=r"mailboxes\[0\] \(adam.cole@send.test\): password is missing"):
        sequencer_csv([{"email": "adam.cole@send.test"}], SETTINGS, "instantly")


def test_an_unknown_format_is_an_error():
    with pytest.raises(AnsibleFilterError, match="format: 'lemlist' is not one of instantly, smartlead"):
        sequencer_csv(BOXES, SETTINGS, "lemlist")


def test_a_mailbox_without_password_names_the_command_that_rotates_it():
    with pytest.raises(AnsibleFilterError, match=r"coldrig_rotate_mailboxes.*adam.cole@send.test"):
        sequencer_csv([{"email": "adam.cole@send.test", "password": None, "pending": "x"}], SETTINGS, "instantly")
