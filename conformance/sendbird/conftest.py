"""Conformance of `switchboard serve --profile sendbird` against Sendbird's
Platform API SDK for Python (sendbird-platform-sdk, pinned in
requirements.txt).

One server runs for the whole session, over plain http (the SDK takes any
host through `Configuration(host=...)`). Every test starts from a fresh world
(`POST /_switchboard/reset`), and after every test the session is replayed:
`GET /_switchboard/scenario` is run by `switchboard run`, whose output must be
the server's `GET /_switchboard/trace`, byte for byte.
"""

import json
import os
import pathlib
import subprocess
import tempfile
import urllib.request

import pytest
import sendbird_platform_sdk

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SWITCHBOARD_BIN", str(REPO / "target" / "release" / "switchboard"))


class Server:
    """A running `switchboard serve --profile sendbird` and its control plane."""

    def __init__(self, state_dir):
        self.proc = subprocess.Popen(
            [BIN, "serve", "--profile", "sendbird", "--seed", "1", "--state-dir", str(state_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("switchboard serve did not start: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url = self.info["listening"]
        self.api_token = self.info["sendbird_api_token"]

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


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="switchboard-sendbird-") as state:
        s = Server(state)
        yield s
        s.stop()


@pytest.fixture()
def sb(server, tmp_path):
    """The server, reset to a fresh world; the session replays after the test."""
    server.call("POST", "reset", {"seed": 1, "profile": "sendbird"})
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
    """An ApiClient on the server, as an application builds it: only the host differs."""
    configuration = sendbird_platform_sdk.Configuration(host=sb.url)
    with sendbird_platform_sdk.ApiClient(configuration) as api_client:
        yield api_client
