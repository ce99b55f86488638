"""The conformance suites' shared piece: a running `switchboard serve` with its
control plane, and the check that a test's recorded session replays.

Each suite's conftest.py starts one server for its whole session and resets
it before every test (`POST /_switchboard/reset`); after every test the
session is replayed: `GET /_switchboard/scenario` is run by `switchboard run`,
whose output must be the server's `GET /_switchboard/trace`, byte for byte.
"""

import json
import os
import pathlib
import ssl
import subprocess
import tempfile
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("SWITCHBOARD_BIN", str(REPO / "target" / "release" / "switchboard"))


class Server:
    """A running `switchboard serve --profile PROFILE` (with `--tls` when asked)."""

    def __init__(self, profile, state_dir, tls=False):
        self.profile = profile
        self.state_dir = pathlib.Path(state_dir)
        command = [BIN, "serve", "--profile", profile, "--seed", "1", "--state-dir", str(self.state_dir)]
        if tls:
            command.append("--tls")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("switchboard serve did not start: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url = self.info["listening"]
        # The served profile's credentials (the others are absent).
        self.connection_string = self.info.get("acs_connection_string")
        self.account_sid = self.info.get("twilio_account_sid")
        self.auth_token = self.info.get("twilio_auth_token")
        self.api_token = self.info.get("sendbird_api_token")
        self.ca = self.info.get("ca_cert")
        self.context = ssl.create_default_context(cafile=self.ca) if self.ca else None
        if self.ca:
            # This process only: the SDKs (requests) read it on every request.
            bundle = self.state_dir / "bundle.pem"
            existing = os.environ.get("REQUESTS_CA_BUNDLE")
            text = pathlib.Path(existing).read_text() if existing and os.path.exists(existing) else ""
            bundle.write_text(text + "\n" + pathlib.Path(self.ca).read_text())
            os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
            self.bundle = str(bundle)

    def call(self, method, path, body=None):
        """A control-plane call: the decoded JSON answer (text for the trace)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/_switchboard/" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=self.context) as response:
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


def fixtures(profile, tls=False):
    """A suite's two fixtures, for its conftest.py (`server, sb =
    fixtures("twilio")`): `server`, one running server for the session, and
    `sb`, that server reset to a fresh world for one test, whose recorded
    session must replay after it."""

    @pytest.fixture(scope="session")
    def server():
        with tempfile.TemporaryDirectory(prefix=f"switchboard-{profile}-") as state:
            s = Server(profile, state, tls=tls)
            yield s
            s.stop()

    @pytest.fixture()
    def sb(server, tmp_path):
        """The server, reset to a fresh world; the session replays after the test."""
        yield from fresh_then_replayed(server, tmp_path)

    return server, sb


def fresh_then_replayed(server, tmp_path):
    """Resets the server to a fresh world, yields it, then checks that the
    session the test recorded replays with `switchboard run` to the server's
    trace."""
    server.call("POST", "reset", {"seed": 1, "profile": server.profile})
    yield server
    scenario = server.call("GET", "scenario")
    trace = server.call("GET", "trace")
    path = tmp_path / "session.json"
    path.write_text(json.dumps(scenario))
    replay = subprocess.run([BIN, "run", str(path)], capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == trace, "the recorded session does not replay to the server's trace"
