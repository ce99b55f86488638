"""Conformance of `switchboard serve` against the official ACS SDKs for Python.

One server runs for the whole session (`switchboard serve --tls`); this process
alone trusts its certificate (REQUESTS_CA_BUNDLE is set to the machine's bundle
plus the server's CA, in this process only). Every test starts from a fresh world
(`POST /_switchboard/reset`), and after every test the session is replayed:
`GET /_switchboard/scenario` is run by `switchboard run`, whose output must be the
server's `GET /_switchboard/trace`, byte for byte.
"""

import json
import os
import pathlib
import subprocess
import tempfile
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SWITCHBOARD_BIN", str(REPO / "target" / "release" / "switchboard"))


class Server:
    """A running `switchboard serve` and its control plane."""

    def __init__(self, state_dir):
        self.state_dir = pathlib.Path(state_dir)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--tls", "--seed", "1", "--state-dir", str(self.state_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("switchboard serve did not start: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url = self.info["listening"]
        self.connection_string = self.info["acs_connection_string"]
        self.ca = self.info["ca_cert"]
        bundle = self.state_dir / "bundle.pem"
        existing = os.environ.get("REQUESTS_CA_BUNDLE")
        text = pathlib.Path(existing).read_text() if existing and os.path.exists(existing) else ""
        bundle.write_text(text + "\n" + pathlib.Path(self.ca).read_text())
        # This process only: the SDKs (requests) read it on every request.
        os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
        self.bundle = str(bundle)

    def call(self, method, path, body=None):
        """A control-plane call: the decoded JSON answer (text for the trace)."""
        import ssl

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/_switchboard/" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(request, context=context) as response:
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
    with tempfile.TemporaryDirectory(prefix="switchboard-conformance-") as state:
        s = Server(state)
        yield s
        s.stop()


@pytest.fixture()
def sb(server, tmp_path):
    """The server, reset to a fresh world; the session replays after the test."""
    server.call("POST", "reset", {"seed": 1, "profile": "acs"})
    yield server
    scenario = server.call("GET", "scenario")
    trace = server.call("GET", "trace")
    path = tmp_path / "session.json"
    path.write_text(json.dumps(scenario))
    replay = subprocess.run([BIN, "run", str(path)], capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == trace, "the recorded session does not replay to the server's trace"


@pytest.fixture()
def identity(sb):
    from azure.communication.identity import CommunicationIdentityClient

    return CommunicationIdentityClient.from_connection_string(sb.connection_string)


@pytest.fixture()
def chat_user(sb, identity):
    """A maker of new users with chat clients: (user, token, ChatClient)."""
    from azure.communication.chat import ChatClient, CommunicationTokenCredential

    def make(**client_options):
        user, token = identity.create_user_and_token(["chat"])
        client = ChatClient(sb.url, CommunicationTokenCredential(token.token), **client_options)
        return user, token, client

    return make
