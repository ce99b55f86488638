"""An ACS chat program run against `switchboard serve`: only the endpoint and
the credentials differ from the real service, and the test moves the virtual
clock. Run (see the README's "Server mode"):

    switchboard serve --tls > server.json &
    REQUESTS_CA_BUNDLE=<ca_cert of server.json> python quickstart.py server.json
"""

import json
import ssl
import sys
import time
import urllib.request

from azure.communication.chat import ChatClient, ChatParticipant, CommunicationTokenCredential
from azure.communication.identity import CommunicationIdentityClient
from azure.core.exceptions import ClientAuthenticationError


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
    context = ssl.create_default_context(cafile=server["ca_cert"])
    with urllib.request.urlopen(request, context=context) as response:
        return json.loads(response.read())


# The application's code, unchanged: identities, a thread, messages.
identity = CommunicationIdentityClient.from_connection_string(server["acs_connection_string"])
ana, token = identity.create_user_and_token(["chat"])
bo = identity.create_user()
chat = ChatClient(server["listening"], CommunicationTokenCredential(token.token))
thread = chat.create_chat_thread("Lunch?", thread_participants=[ChatParticipant(identifier=bo)])
client = chat.get_chat_thread_client(thread.chat_thread.id)
client.send_message("12:30 at the usual place?", sender_display_name="Ana")
print([m.content.message for m in client.list_messages() if m.type == "text"])

# The test moves the virtual clock: a day passes at once and the token,
# issued for 24 hours, has expired.
control("clock/advance", {"by": "24h"})
try:
    client.send_message("Still there?")
except ClientAuthenticationError as e:
    print("after 24 h:", e.error.code)
