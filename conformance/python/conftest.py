"""Conformance of `switchboard serve` against the official ACS SDKs for Python.

One server runs for the whole session (`switchboard serve --tls`); this process
alone trusts its certificate (REQUESTS_CA_BUNDLE is set to the machine's bundle
plus the server's CA, in this process only). Every test starts from a fresh world
(`POST /_switchboard/reset`), and after every test the session is replayed:
`GET /_switchboard/scenario` is run by `switchboard run`, whose output must be the
server's `GET /_switchboard/trace`, byte for byte.
"""

import pathlib
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from switchboard_server import Server, fresh_then_replayed  # noqa: E402


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="switchboard-conformance-") as state:
        s = Server("acs", state, tls=True)
        yield s
        s.stop()


@pytest.fixture()
def sb(server, tmp_path):
    """The server, reset to a fresh world; the session replays after the test."""
    yield from fresh_then_replayed(server, tmp_path)


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
