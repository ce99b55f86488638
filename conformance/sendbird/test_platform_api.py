"""Sendbird's Platform API SDK for Python against switchboard: users, group
channels, members, messages (text and file, listed around `message_ts`),
metacounters, every page of every list, Sendbird's error codes, the per-user
send cap (429, 900200, nothing stored) and the per-channel display cap
(stored, not delivered). Every test's session is replayed by `switchboard
run` (conftest.py)."""

import json
import urllib.error
import urllib.request

import pytest
from sendbird_platform_sdk import ApiException
from sendbird_platform_sdk.api import group_channel_api, message_api, user_api
from sendbird_platform_sdk.model.create_a_group_channel_request import CreateAGroupChannelRequest
from sendbird_platform_sdk.model.create_a_user_request import CreateAUserRequest
from sendbird_platform_sdk.model.invite_as_members_request import InviteAsMembersRequest
from sendbird_platform_sdk.model.leave_a_channel_request import LeaveAChannelRequest
from sendbird_platform_sdk.model.send_a_message_request import SendAMessageRequest
from sendbird_platform_sdk.model.update_a_group_channel_request import UpdateAGroupChannelRequest
from sendbird_platform_sdk.model.update_a_message_request import UpdateAMessageRequest
from sendbird_platform_sdk.model.update_a_user_request import UpdateAUserRequest

EPOCH_S = 1767225600  # 2026-01-01T00:00:00Z, the server's default epoch
GROUP = "group_channels"


def error_of(excinfo):
    """The HTTP status and Sendbird's code of an ApiException."""
    body = json.loads(excinfo.value.body)
    assert body["error"] is True and body["message"], body
    return excinfo.value.status, body["code"]


def raw(sb, method, path, body=None, token=None):
    """A Platform API call without the SDK (for what it lacks): status, JSON, headers."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sb.url + path, data=data, method=method)
    request.add_header("Api-Token", sb.api_token if token is None else token)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


@pytest.fixture()
def apis(sb, client):
    class Apis:
        users = user_api.UserApi(client)
        channels = group_channel_api.GroupChannelApi(client)
        messages = message_api.MessageApi(client)
        token = sb.api_token

    return Apis


def make_users(apis, *names):
    for name in names:
        user = apis.users.create_a_user(
            api_token=apis.token,
            create_a_user_request=CreateAUserRequest(user_id=name, nickname=name.title()),
        )
        assert user.user_id == name and user.nickname == name.title()
        assert user.created_at == EPOCH_S


def make_channel(apis, *members, name="Launch"):
    request = CreateAGroupChannelRequest(users=[], user_ids=list(members), name=name)
    return apis.channels.create_a_group_channel(
        api_token=apis.token, create_a_group_channel_request=request
    )


def send(apis, url, user, text):
    request = SendAMessageRequest(message_type="MESG", user_id=user, message=text)
    return apis.messages.send_a_message(GROUP, url, api_token=apis.token, send_a_message_request=request)


def test_users_every_page_update_and_delete(apis):
    names = [f"user{i}" for i in range(7)]
    make_users(apis, *names)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"token": token} if token else {}
        page = apis.users.list_users(api_token=apis.token, limit=3, **kwargs)
        pages += 1
        seen += [u.user_id for u in page.users]
        if not page.next:
            break
        token = page.next
    assert (seen, pages) == (names, 3)
    updated = apis.users.update_a_user(
        "user1", api_token=apis.token, update_a_user_request=UpdateAUserRequest(nickname="One")
    )
    assert updated.nickname == "One"
    assert apis.users.view_a_user("user1", api_token=apis.token).nickname == "One"
    apis.users.delete_a_user("user1", api_token=apis.token)
    with pytest.raises(ApiException) as e:
        apis.users.view_a_user("user1", api_token=apis.token)
    assert error_of(e) == (400, 400201)
    with pytest.raises(ApiException) as e:
        make_users(apis, "user2")
    assert error_of(e) == (400, 400202)
    assert len(apis.users.list_users(api_token=apis.token, limit=100).users) == 6


def test_group_channels_and_members(apis, sb):
    make_users(apis, "ana", "bo", "cy", "di", "ed")
    created = make_channel(apis, "ana", "bo")
    url = created.channel_url
    assert url.startswith("sendbird_group_channel_1_")
    assert created.name == "Launch" and created.member_count == 2
    assert [m.user_id for m in created.members] == ["ana", "bo"]
    assert created.created_at == EPOCH_S
    others = [make_channel(apis, "cy", name=f"c{i}").channel_url for i in range(4)]
    got = apis.channels.get_a_group_channel(url, api_token=apis.token, show_member=True)
    assert got.channel_url == url and [m.user_id for m in got.members] == ["ana", "bo"]
    # Every page of the channels.
    urls, token = [], None
    while True:
        kwargs = {"token": token} if token else {}
        page = apis.channels.list_channels(api_token=apis.token, limit=2, **kwargs)
        urls += [c.channel_url for c in page.channels]
        if not page.next:
            break
        token = page.next
    assert urls == [url] + others
    updated = apis.channels.update_a_group_channel(
        url,
        api_token=apis.token,
        update_a_group_channel_request=UpdateAGroupChannelRequest(name="Launch day", custom_type="team"),
    )
    assert (updated.name, updated.custom_type) == ("Launch day", "team")
    invited = apis.channels.invite_as_members(
        url,
        api_token=apis.token,
        invite_as_members_request=InviteAsMembersRequest(user_ids=["cy", "di", "ed"], inviter_id="ana"),
    )
    assert invited.member_count == 5
    # Every page of the members.
    members, token = [], None
    while True:
        kwargs = {"token": token} if token else {}
        page = apis.channels.list_members(url, api_token=apis.token, limit=2, **kwargs)
        members += [m.user_id for m in page.members]
        if not page.next:
            break
        token = page.next
    assert members == ["ana", "bo", "cy", "di", "ed"]
    assert apis.channels.check_if_member(url, "cy", api_token=apis.token).is_member is True
    apis.channels.leave_a_channel(
        url, api_token=apis.token, leave_a_channel_request=LeaveAChannelRequest(user_ids=["cy", "di"])
    )
    assert apis.channels.check_if_member(url, "cy", api_token=apis.token).is_member is False
    assert apis.channels.get_a_group_channel(url, api_token=apis.token).member_count == 3
    apis.channels.delete_a_group_channel(url, api_token=apis.token)
    with pytest.raises(ApiException) as e:
        apis.channels.get_a_group_channel(url, api_token=apis.token)
    assert error_of(e) == (400, 400201)


def test_messages_text_and_file_listed_around_message_ts(apis, sb):
    make_users(apis, "ana", "bo")
    url = make_channel(apis, "ana", "bo").channel_url
    sent = []
    for i in range(7):
        sent.append(send(apis, url, "ana" if i % 2 == 0 else "bo", f"m{i}"))
        sb.advance("1s")
    assert sent[0].type == "MESG" and sent[0].message == "m0" and sent[0].user.user_id == "ana"
    assert sent[1].created_at - sent[0].created_at == 1000
    file_request = SendAMessageRequest(
        message_type="FILE", user_id="bo", url="https://files.example/plan.pdf"
    )
    filed = apis.messages.send_a_message(GROUP, url, api_token=apis.token, send_a_message_request=file_request)
    assert filed.type == "FILE" and filed.file["url"] == "https://files.example/plan.pdf"
    got = apis.messages.get_a_message(GROUP, url, sent[2].message_id, api_token=apis.token)
    assert got.message == "m2" and got.message_id == sent[2].message_id
    # Around a timestamp: two before, the one at it, one after.
    listed = apis.messages.list_messages(
        GROUP, url, sent[3].created_at, 0, api_token=apis.token, prev_limit=2, next_limit=1
    )
    assert [m.message for m in listed.messages] == ["m1", "m2", "m3", "m4"]
    # Every page, oldest first: next_limit at a time from after the last one seen.
    texts, ts = [], 0
    while True:
        page = apis.messages.list_messages(
            GROUP, url, ts, 0, api_token=apis.token, prev_limit=0, next_limit=3, include=False
        ).messages
        texts += [m.message if m.type == "MESG" else "file" for m in page]
        if len(page) < 3:
            break
        ts = page[-1].created_at
    assert texts == [f"m{i}" for i in range(7)] + ["file"]
    edited = apis.messages.update_a_message(
        GROUP,
        url,
        sent[0].message_id,
        api_token=apis.token,
        update_a_message_request=UpdateAMessageRequest(message_type="MESG", message="edited"),
    )
    assert edited.message == "edited" and edited.updated_at > edited.created_at
    apis.messages.delete_a_message(GROUP, url, sent[1].message_id, api_token=apis.token)
    with pytest.raises(ApiException) as e:
        apis.messages.get_a_message(GROUP, url, sent[1].message_id, api_token=apis.token)
    assert error_of(e) == (400, 400201)


def test_metacounters(apis, sb):
    make_users(apis, "ana")
    url = make_channel(apis, "ana").channel_url
    path = f"/v3/group_channels/{url}/metacounter"
    assert raw(sb, "POST", path, {"metacounter": {"likes": 1, "views": 10}})[:2] == (
        200,
        {"likes": 1, "views": 10},
    )
    status, body, _ = raw(sb, "POST", path, {"metacounter": {"likes": 5}})
    assert (status, body["code"]) == (400, 400202)
    assert raw(sb, "PUT", path, {"metacounter": {"likes": 4}, "mode": "increase"})[1] == {"likes": 5}
    assert raw(sb, "PUT", path, {"metacounter": {"views": 3}, "mode": "decrease"})[1] == {"views": 7}
    assert raw(sb, "PUT", path, {"metacounter": {"new": 2}, "upsert": True})[1] == {"new": 2}
    assert raw(sb, "GET", path + "?keys=likes,new")[1] == {"likes": 5, "new": 2}
    assert raw(sb, "DELETE", path + "/views")[:2] == (200, {})
    assert raw(sb, "GET", path)[1] == {"likes": 5, "new": 2}
    assert raw(sb, "DELETE", path)[:2] == (200, {})
    assert raw(sb, "GET", path)[1] == {}


def test_error_codes(apis, sb):
    make_users(apis, "ana", "bo")
    url = make_channel(apis, "ana", "bo").channel_url
    wrong = user_api.UserApi(apis.users.api_client)
    with pytest.raises(ApiException) as e:
        wrong.list_users(api_token="0" * 40)
    assert error_of(e) == (400, 400401)
    with pytest.raises(ApiException) as e:
        apis.channels.get_a_group_channel("sendbird_group_channel_9_nothing", api_token=apis.token)
    assert error_of(e) == (400, 400201)
    with pytest.raises(ApiException) as e:
        send(apis, url, "ana", "x" * 5001)
    assert error_of(e) == (400, 400110)
    with pytest.raises(ApiException) as e:
        apis.users.list_users(api_token=apis.token, limit=101)
    assert error_of(e) == (400, 400111)
    with pytest.raises(ApiException) as e:
        apis.users.list_users(api_token=apis.token, token="not-a-page")
    assert error_of(e) == (400, 400109)
    with pytest.raises(ApiException) as e:
        make_channel(apis, "ana", "ghost")
    assert error_of(e) == (400, 400201)
    # What the SDK checks itself, without it: a missing field, not JSON.
    assert raw(sb, "POST", "/v3/users", {"nickname": "x"})[1]["code"] == 400105
    assert raw(sb, "POST", "/v3/users", {"user_id": 1, "nickname": "x"})[1]["code"] == 400100


def test_the_per_user_cap_refuses_and_the_display_cap_hides(apis, sb):
    make_users(apis, "ana", "bo", "cy")
    url = make_channel(apis, "ana", "bo", "cy").channel_url
    for i in range(5):
        send(apis, url, "ana", f"woo {i}")
    with pytest.raises(ApiException) as e:
        send(apis, url, "ana", "dropped")
    assert error_of(e) == (429, 900200)
    headers = e.value.headers
    assert headers["X-RateLimit-Limit"] == "5;w=1"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["Retry-After"] == headers["X-RateLimit-Reset"] == "1"
    inbox = lambda: len(sb.call("GET", "inbox/cy")["items"])  # noqa: E731
    before = inbox()
    hidden = send(apis, url, "bo", "stored, not shown")
    assert inbox() == before  # over the channel's five a second: nobody gets it
    listed = apis.messages.list_messages(GROUP, url, 0, 0, api_token=apis.token, next_limit=50)
    texts = [m.message for m in listed.messages]
    assert "dropped" not in texts and hidden.message in texts
    sb.advance(f"{headers['Retry-After']}s")
    send(apis, url, "ana", "again")
    assert inbox() == before + 1
    assert sb.call("GET", "inbox/cy")["items"][-1]["thread"] == url


def test_a_channel_url_of_the_applications_choosing(apis, sb):
    make_users(apis, "ana", "bo")
    request = CreateAGroupChannelRequest(users=[], user_ids=["ana", "bo"], channel_url="support_1042")
    created = apis.channels.create_a_group_channel(api_token=apis.token, create_a_group_channel_request=request)
    assert created.channel_url == "support_1042"
    assert send(apis, "support_1042", "bo", "hello").channel_url == "support_1042"
    assert sb.call("GET", "inbox/ana")["items"][-1]["thread"] == "support_1042"
    with pytest.raises(ApiException) as e:
        apis.channels.create_a_group_channel(api_token=apis.token, create_a_group_channel_request=request)
    assert error_of(e) == (400, 400202)


def test_a_distinct_channel_is_answered_again(apis):
    make_users(apis, "ana", "bo")
    request = lambda ids: CreateAGroupChannelRequest(users=[], user_ids=ids, is_distinct=True)  # noqa: E731
    first = apis.channels.create_a_group_channel(api_token=apis.token, create_a_group_channel_request=request(["ana", "bo"]))
    again = apis.channels.create_a_group_channel(api_token=apis.token, create_a_group_channel_request=request(["bo", "ana"]))
    assert first.is_distinct is True and again.channel_url == first.channel_url
    assert len(apis.channels.list_channels(api_token=apis.token).channels) == 1
