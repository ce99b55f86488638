"""Webhooks from `switchboard serve --profile twilio` to a small receiver (a
Python http.server on loopback), configured with twilio-python as Twilio's
Configuration/Webhooks resource, signed with X-Twilio-Signature (checked with
twilio-python's own RequestValidator); a pre-event webhook's refusal stops the
action; every call is in the recording, which replays without the receiver."""

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator


@pytest.fixture()
def receiver():
    """A loopback receiver: records (path, params, signature); refuses `spam` before it happens."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            params = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            calls.append((self.path, params, self.headers.get("X-Twilio-Signature")))
            refuse = self.path == "/pre" and params.get("Body") == "spam"
            self.send_response(403 if refuse else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_webhooks_reach_the_receiver_signed_and_a_pre_event_refusal_stops_the_action(
    client, conversations, sb, receiver
):
    url, calls = receiver
    config = client.conversations.v1.configuration.webhooks().update(
        pre_webhook_url=url + "/pre",
        post_webhook_url=url + "/post",
        filters=["onMessageAdd", "onMessageAdded", "onDeliveryUpdated", "onConversationStateUpdated"],
        method="POST",
    )
    assert config.filters == ["onMessageAdd", "onMessageAdded", "onDeliveryUpdated", "onConversationStateUpdated"]
    c = conversations.create(friendly_name="hooks", state="active", timers_inactive="PT1M")
    conversations(c.sid).participants.create(
        messaging_binding_address="+14255550100", messaging_binding_proxy_address="+18005550199"
    )
    m = conversations(c.sid).messages.create(body="hello", x_twilio_webhook_enabled="true")
    assert [(path, p["EventType"]) for path, p, _ in calls] == [("/pre", "onMessageAdd"), ("/post", "onMessageAdded")]
    validator = RequestValidator(sb.auth_token)
    for path, params, signature in calls:
        assert validator.validate(url + path, params, signature)
    assert calls[1][1]["MessageSid"] == m.sid
    # The receiver refuses this one before it happens: the API says 403 and nothing is added.
    with pytest.raises(TwilioRestException) as refused:
        conversations(c.sid).messages.create(body="spam", x_twilio_webhook_enabled="true")
    assert (refused.value.status, refused.value.code) == (403, 20403)
    assert [x.body for x in conversations(c.sid).messages.list()] == ["hello"]
    # Without the header, REST actions fire no webhooks (Twilio's default).
    before = len(calls)
    conversations(c.sid).messages.create(body="quiet")
    assert len(calls) == before
    # The clock: the carrier's receipts and the inactive timer fire post-event webhooks.
    sb.advance("10m")
    events = [p["EventType"] for _, p, _ in calls[before:]]
    assert "onDeliveryUpdated" in events and "onConversationStateUpdated" in events
    assert any('"op":"webhook"' in line for line in sb.call("GET", "trace").splitlines())


def test_webhook_urls_off_loopback_are_refused(client):
    with pytest.raises(TwilioRestException) as refused:
        client.conversations.v1.configuration.webhooks().update(post_webhook_url="https://example.com/hook")
    assert (refused.value.status, refused.value.code) == (400, 20001)
