"""A twilio-python program run against `switchboard serve --profile twilio`:
only the base URL and the credentials differ from the real service, its
webhooks reach a loopback receiver, and the test moves the virtual clock. Run
(see the README's "Server mode"):

    switchboard serve --profile twilio > server.json &
    python quickstart.py server.json
"""

import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


def server_info(path):
    """The start-up line `switchboard serve` printed."""
    for _ in range(100):
        with open(path) as f:
            line = f.readline()
        if line.endswith("\n"):
            return json.loads(line)
        time.sleep(0.1)
    raise SystemExit(f"no start-up line in {path}")


server = server_info(sys.argv[1])


def control(path, body=None):
    """A call to the control plane (`/_switchboard/...`)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server['listening']}/_switchboard/{path}", data=data)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


class Switchboard(TwilioHttpClient):
    """twilio-python's HTTP client, sending https://*.twilio.com to the server."""

    def request(self, method, url, *args, **kwargs):
        url = url.replace("https://conversations.twilio.com", server["listening"])
        return super().request(method, url, *args, **kwargs)


# A webhook receiver on loopback: prints each event it gets.
class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        params = dict(urllib.parse.parse_qsl(body))
        print("webhook:", params["EventType"], params.get("Body") or params.get("Status") or "")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


receiver = HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()

# The application's code, unchanged but for its HTTP client.
client = Client(server["twilio_account_sid"], server["twilio_auth_token"], http_client=Switchboard())
client.conversations.v1.configuration.webhooks().update(
    post_webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/post",
    filters=["onMessageAdded", "onDeliveryUpdated"],
)
conversation = client.conversations.v1.conversations.create(friendly_name="Order 1042")
conversations = client.conversations.v1.conversations(conversation.sid)
conversations.participants.create(identity="agent")
conversations.participants.create(
    messaging_binding_address="+14255550100", messaging_binding_proxy_address="+18005550199"
)
message = conversations.messages.create(author="agent", body="Your order ships today.", x_twilio_webhook_enabled="true")
print(message.sid, message.delivery)

# The test moves the virtual clock: the carrier's receipts arrive, and with
# them the onDeliveryUpdated webhooks.
control("clock/advance", {"by": "5m"})
print(conversations.messages(message.sid).fetch().delivery)
receiver.shutdown()
