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

import pathlib
import re
import sys

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from switchboard_server import fixtures  # noqa: E402


class SwitchboardHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client, sending `*.twilio.com` to the server."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        url = re.sub(r"^https://[a-z0-9.-]+\.twilio\.com", self.base_url, url)
        return super().request(method, url, *args, **kwargs)


server, sb = fixtures("twilio")


@pytest.fixture()
def client(sb):
    """A twilio-python client with the server's credentials."""
    return Client(sb.account_sid, sb.auth_token, http_client=SwitchboardHttpClient(sb.url))


@pytest.fixture()
def conversations(client):
    return client.conversations.v1.conversations
