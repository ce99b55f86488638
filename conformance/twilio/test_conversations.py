"""twilio-python against `switchboard serve --profile twilio`: every operation
of Conversations, Participants, Messages (with delivery receipts) and Users,
paging through every page, Twilio's error codes, the rate limit, timers on the
virtual clock, SMS segments in the outbox and inbound SMS."""

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


def refused(call):
    with pytest.raises(TwilioRestException) as info:
        call()
    return info.value.status, info.value.code


def test_conversations_create_fetch_update_list_delete(conversations):
    c = conversations.create(friendly_name="Order 1042")
    assert c.sid.startswith("CH") and len(c.sid) == 34
    assert c.friendly_name == "Order 1042"
    assert c.state == "active"
    assert c.date_created.year == 2026
    assert conversations(c.sid).fetch().sid == c.sid
    updated = conversations(c.sid).update(friendly_name="Order 1042 (rush)", state="inactive")
    assert (updated.friendly_name, updated.state) == ("Order 1042 (rush)", "inactive")
    assert [x.sid for x in conversations.list()] == [c.sid]
    assert conversations(c.sid).delete() is True
    assert refused(lambda: conversations(c.sid).fetch()) == (404, 20404)


def test_service_scoped_paths(client):
    service = client.conversations.v1.services(client.conversations.v1.conversations.create().chat_service_sid)
    c = service.conversations.create(friendly_name="via the service")
    assert service.conversations(c.sid).fetch().friendly_name == "via the service"
    p = service.conversations(c.sid).participants.create(identity="ana")
    m = service.conversations(c.sid).messages.create(author="ana", body="hi")
    assert m.participant_sid == p.sid
    assert [x.body for x in service.conversations(c.sid).messages.list()] == ["hi"]
    assert "/Services/" in m.url


def test_participants_chat_sms_whatsapp(conversations):
    c = conversations.create(friendly_name="support")
    ps = conversations(c.sid).participants
    ana = ps.create(identity="ana")
    assert ana.sid.startswith("MB") and ana.identity == "ana"
    sms = ps.create(messaging_binding_address="+14255550100", messaging_binding_proxy_address="+18005550199")
    assert sms.messaging_binding == {"type": "sms", "address": "+14255550100", "proxy_address": "+18005550199"}
    wa = ps.create(
        messaging_binding_address="whatsapp:+14255550101",
        messaging_binding_proxy_address="whatsapp:+18005550199",
    )
    assert wa.messaging_binding["type"] == "whatsapp"
    assert [p.sid for p in ps.list()] == [ana.sid, sms.sid, wa.sid]
    assert ps(ana.sid).fetch().identity == "ana"
    m = conversations(c.sid).messages.create(author="ana", body="hello")
    read = ps(ana.sid).update(last_read_message_index=m.index)
    assert read.last_read_message_index == m.index
    assert ps(sms.sid).delete() is True
    assert ps(ana.sid).delete() is True
    assert [p.sid for p in ps.list()] == [wa.sid]


def test_messages_create_fetch_list_update_delete_and_page_through(conversations, sb):
    c = conversations.create(friendly_name="paging")
    conversations(c.sid).participants.create(identity="ana")
    ms = conversations(c.sid).messages
    sent = [ms.create(author="ana", body=f"m{i}") for i in range(7)]
    assert sent[0].sid.startswith("IM") and sent[0].author == "ana"
    assert ms(sent[0].sid).fetch().body == "m0"
    # Every page, following next_page_url.
    page = ms.page(page_size=3)
    pages = []
    while page is not None:
        pages.append([m.body for m in page])
        page = page.next_page()
    assert pages == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]
    assert [m.body for m in ms.stream(order="desc", page_size=2)] == [f"m{i}" for i in range(6, -1, -1)]
    assert [m.body for m in ms.list(limit=4, page_size=2)] == ["m0", "m1", "m2", "m3"]
    assert ms(sent[1].sid).update(body="edited").body == "edited"
    assert ms(sent[2].sid).delete() is True
    assert refused(lambda: ms(sent[2].sid).fetch()) == (404, 20404)
    assert len(ms.list()) == 6
    system = ms.create(body="from the service")
    assert system.author == "system" and system.participant_sid is None


def test_users(client):
    users = client.conversations.v1.users
    bo = users.create(identity="bo", friendly_name="Bo")
    assert bo.sid.startswith("US") and bo.friendly_name == "Bo"
    assert users(bo.sid).fetch().identity == "bo"
    assert users("bo").fetch().sid == bo.sid
    assert [u.identity for u in users.list()] == ["bo"]
    assert users(bo.sid).delete() is True
    assert refused(lambda: users(bo.sid).fetch()) == (404, 20404)


def test_error_codes(conversations, sb):
    c = conversations.create(friendly_name="rules")
    ps = conversations(c.sid).participants
    ps.create(identity="ana")
    assert refused(lambda: ps.create(identity="ana")) == (409, 50433)
    binding = dict(messaging_binding_address="+14255550100", messaging_binding_proxy_address="+18005550199")
    ps.create(**binding)
    other = conversations.create(friendly_name="other")
    assert refused(lambda: conversations(other.sid).participants.create(**binding)) == (409, 50416)
    conversations(c.sid).update(state="closed")
    assert refused(lambda: conversations(c.sid).messages.create(body="late")) == (409, 50377)
    assert refused(lambda: conversations.create(state="active", timers_inactive="PT30S")) == (400, 50375)
    bad = Client(sb.account_sid, "0" * 32, http_client=conversations._version.domain.twilio.http_client)
    assert refused(lambda: bad.conversations.v1.conversations(c.sid).fetch()) == (401, 20003)


def test_the_31st_action_in_a_second_is_refused_with_20429(conversations, sb):
    c = conversations.create(friendly_name="flash sale")
    sb.advance("1s")
    ms = conversations(c.sid).messages
    for i in range(30):
        ms.create(body=f"order {i}")
    assert refused(lambda: ms.create(body="one too many")) == (429, 20429)
    sb.advance("1s")
    assert ms.create(body="on time").body == "on time"


def test_timers_move_a_conversation_to_inactive_then_closed(conversations, sb):
    c = conversations.create(state="active", timers_inactive="PT1M", timers_closed="PT10M")
    assert c.friendly_name is None
    assert c.timers["date_inactive"] == "2026-01-01T00:01:00Z"
    sb.advance("61s")
    assert conversations(c.sid).fetch().state == "inactive"
    sb.call("POST", "clock/set", {"to": "10m"})
    assert conversations(c.sid).fetch().state == "closed"


def test_sms_segments_in_the_outbox_and_receipts_on_the_clock(conversations, sb):
    c = conversations.create(friendly_name="sms")
    conversations(c.sid).participants.create(
        messaging_binding_address="+14255550100", messaging_binding_proxy_address="+18005550199"
    )
    long = "Your order 1042 ships today. " * 7  # 203 GSM-7 characters: two segments
    m = conversations(c.sid).messages.create(body=long)
    assert m.delivery["total"] == 1
    items = sb.call("GET", "outbox?to=%2B14255550100")["items"]
    assert [(i["message"], i["segments"], i["status"]) for i in items] == [(m.sid, 2, "queued")]
    sb.advance("10m")
    receipts = conversations(c.sid).messages(m.sid).delivery_receipts.list()
    assert len(receipts) == 1 and receipts[0].sid.startswith("DY")
    assert receipts[0].status != "queued"
    assert conversations(c.sid).messages(m.sid).fetch().delivery != m.delivery


def test_inbound_sms_arrives_in_the_conversation(conversations, sb):
    c = conversations.create(friendly_name="inbound")
    p = conversations(c.sid).participants.create(
        messaging_binding_address="+14255550100", messaging_binding_proxy_address="+18005550199"
    )
    answer = sb.call(
        "POST", "inbound", {"channel": "sms", "from": "+14255550100", "to": "+18005550199", "body": "Where is it?"}
    )
    assert answer["thread"] == c.sid
    [m] = conversations(c.sid).messages.list()
    assert (m.sid, m.author, m.participant_sid, m.body) == (answer["id"], "+14255550100", p.sid, "Where is it?")


def test_media_uploaded_then_sent_with_media_sid(conversations, sb):
    import base64
    import json
    import urllib.request

    c = conversations.create(friendly_name="media")
    service_sid = c.chat_service_sid
    request = urllib.request.Request(
        f"{sb.url}/v1/Services/{service_sid}/Media?Filename=box.jpg", data=b"\xff" * 2048, method="POST"
    )
    request.add_header("Content-Type", "image/jpeg")
    token = base64.b64encode(f"{sb.account_sid}:{sb.auth_token}".encode()).decode()
    request.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(request) as response:
        medium = json.loads(response.read())
    assert medium["sid"].startswith("ME") and medium["size"] == 2048
    m = conversations(c.sid).messages.create(body="Your parcel", media_sid=medium["sid"])
    assert [(x["sid"], x["content_type"], x["filename"]) for x in m.media] == [(medium["sid"], "image/jpeg", "box.jpg")]
