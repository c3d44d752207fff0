"""The CDS Hooks endpoints driven with a plain HTTP client (urllib) against a real `jicai serve` process —
not Django's test client — on the test database (committed data, so a database server is needed)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection

from jicai.accounts.actions import create_api_token
from jicai.prescribing.models import Prompt
from tests.prescribing.conftest import hook_request
from tests.trade.conftest import build_trade

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a database server: the SQLite test database lives in this process's memory",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url, body=None, key=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def server(transactional_db, world):
    w = build_trade(world)
    _, w.key = create_api_token(
        actor=w.pharmacist, organisation=w.hospital_org, name="HIS", role="institution"
    )
    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
        "DJANGO_SETTINGS_MODULE": "jicai.settings",
    }
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "jicai.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/cds-services", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        w.base = base
        yield w
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cds_hooks_over_http(server):
    w = server
    status, discovery = _call(w.base + "/cds-services")
    assert status == 200 and {s["hook"] for s in discovery["services"]} == {"order-select", "order-sign"}
    status, body = _call(w.base + "/cds-services/vbp-prompt", hook_request(w.nonwinning_product.code))
    assert status == 401
    status, body = _call(w.base + "/cds-services/vbp-prompt", raw=b"{oops", key=w.key)
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = _call(w.base + "/cds-services/vbp-prompt", hook_request(w.product.code), key=w.key)
    assert (status, body) == (200, {"cards": []})
    status, body = _call(
        w.base + "/cds-services/vbp-prompt", hook_request(w.nonwinning_product.code), key=w.key
    )
    assert status == 200
    (card,) = body["cards"]
    assert card["indicator"] == "warning"
    assert (
        card["suggestions"][0]["actions"][0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"]
        == w.product.code
    )
    feedback = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "overrideReason": {"reason": {"code": "patient"}}}
        ]
    }
    status, _ = _call(w.base + "/cds-services/vbp-prompt/feedback", feedback, key=w.key)
    assert status == 200
    p = Prompt.objects.get()
    assert (p.outcome, p.reason, p.source) == ("overridden", "patient", "cds")
