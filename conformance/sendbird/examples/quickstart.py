"""The README's Sendbird example: Sendbird's Platform API SDK for Python
against `switchboard serve --profile sendbird`, with only the host and the API
token changed. Run it with the path of the server's start-up line:

    python conformance/sendbird/examples/quickstart.py server.json
"""

import json
import sys
import urllib.request

import sendbird_platform_sdk
from sendbird_platform_sdk import ApiException
from sendbird_platform_sdk.api import group_channel_api, message_api, user_api
from sendbird_platform_sdk.model.create_a_group_channel_request import CreateAGroupChannelRequest
from sendbird_platform_sdk.model.create_a_user_request import CreateAUserRequest
from sendbird_platform_sdk.model.send_a_message_request import SendAMessageRequest

server = json.loads(open(sys.argv[1]).readline())  # the start-up line
token = server["sendbird_api_token"]


def control(path, body=None):  # the control plane
    request = urllib.request.Request(f"{server['listening']}/_switchboard/{path}",
                                     data=json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    return json.loads(urllib.request.urlopen(request).read())


client = sendbird_platform_sdk.ApiClient(sendbird_platform_sdk.Configuration(host=server["listening"]))
users = user_api.UserApi(client)
for name in ["ana", "bo"]:
    users.create_a_user(api_token=token,
                        create_a_user_request=CreateAUserRequest(user_id=name, nickname=name.title()))
channel = group_channel_api.GroupChannelApi(client).create_a_group_channel(
    api_token=token,
    create_a_group_channel_request=CreateAGroupChannelRequest(users=[], user_ids=["ana", "bo"], name="Launch"))
messages = message_api.MessageApi(client)


def send(text):
    request = SendAMessageRequest(message_type="MESG", user_id="ana", message=text)
    return messages.send_a_message("group_channels", channel.channel_url, api_token=token,
                                   send_a_message_request=request)


for i in range(5):
    send(f"woo {i}")                                   # five a second per user
try:
    send("one too many")
except ApiException as e:                              # refused, and not stored
    print(e.status, json.loads(e.body)["code"], e.headers["Retry-After"])  # 429 900200 1
control("clock/advance", {"by": "1s"})                 # no sleeping
print(send("back again").message)
