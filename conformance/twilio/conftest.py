"""Conformance of `switchboard serve --profile twilio` against twilio-python.

One server runs for the whole session, over plain http (twilio-python accepts
it). The SDK is redirected with its public extension point: a `TwilioHttpClient`
whose `request()` sends every `https://*.twilio.com` URL to the server instead;
nothing else about the application changes (the account SID and auth token are
the ones the server printed). Every test starts from a fresh world
(`POST /_switchboard/reset`), and after every test the session is replayed:
`GET /_switchboard/scenario` is run by `switchboard run`, whose output must be
the server's `GET /_switchboard/trace`, byte for byte.
"""

import json
import os
import pathlib
import re
import subprocess
import tempfile
import urllib.request

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SWITCHBOARD_BIN", str(REPO / "target" / "release" / "switchboard"))


class Server:
    """A running `switchboard serve --profile twilio` and its control plane."""

    def __init__(self, state_dir):
        self.state_dir = pathlib.Path(state_dir)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--profile", "twilio", "--seed", "1", "--state-dir", str(self.state_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("switchboard serve did not start: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url = self.info["listening"]
        self.account_sid = self.info["twilio_account_sid"]
        self.auth_token = self.info["twilio_auth_token"]

    def call(self, method, path, body=None):
        """A control-plane call: the decoded JSON answer (text for the trace)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/_switchboard/" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            if response.headers.get_content_type() == "application/json":
                return json.loads(text)
            return text

    def advance(self, by):
        return self.call("POST", "clock/advance", {"by": by})

    def stop(self):
        try:
            self.call("POST", "shutdown")
        except Exception:  # noqa: BLE001 - the server may already be gone
            self.proc.terminate()
        assert self.proc.wait(timeout=20) == 0


class SwitchboardHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client, sending `*.twilio.com` to the server."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        url = re.sub(r"^https://[a-z0-9.-]+\.twilio\.com", self.base_url, url)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="switchboard-twilio-") as state:
        s = Server(state)
        yield s
        s.stop()


@pytest.fixture()
def sb(server, tmp_path):
    """The server, reset to a fresh world; the session replays after the test."""
    server.call("POST", "reset", {"seed": 1, "profile": "twilio"})
    yield server
    scenario = server.call("GET", "scenario")
    trace = server.call("GET", "trace")
    path = tmp_path / "session.json"
    path.write_text(json.dumps(scenario))
    replay = subprocess.run([BIN, "run", str(path)], capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == trace, "the recorded session does not replay to the server's trace"


@pytest.fixture()
def client(sb):
    """A twilio-python client with the server's credentials."""
    return Client(sb.account_sid, sb.auth_token, http_client=SwitchboardHttpClient(sb.url))


@pytest.fixture()
def conversations(client):
    return client.conversations.v1.conversations
