"""Conformance of `switchboard serve --profile sendbird` against Sendbird's
Platform API SDK for Python (sendbird-platform-sdk, pinned in
requirements.txt).

One server runs for the whole session, over plain http (the SDK takes any
host through `Configuration(host=...)`). Every test starts from a fresh world
(`POST /_switchboard/reset`), and after every test the session is replayed:
`GET /_switchboard/scenario` is run by `switchboard run`, whose output must be
the server's `GET /_switchboard/trace`, byte for byte.
"""

import pathlib
import sys

import pytest
import sendbird_platform_sdk

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from switchboard_server import fixtures  # noqa: E402


server, sb = fixtures("sendbird")


@pytest.fixture()
def client(sb):
    """An ApiClient on the server, as an application builds it: only the host differs."""
    configuration = sendbird_platform_sdk.Configuration(host=sb.url)
    with sendbird_platform_sdk.ApiClient(configuration) as api_client:
        yield api_client
