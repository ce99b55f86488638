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

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from switchboard_server import fixtures  # noqa: E402


server, sb = fixtures("acs", tls=True)


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
