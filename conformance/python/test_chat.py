"""The Chat SDK (azure-communication-chat): every operation of ChatClient and
ChatThreadClient, paging through every page, idempotent creates, and the error
mapping: 401, 403, 404, and 429 honoured by azure-core's retry policy with the
virtual retry-after."""

from datetime import datetime, timedelta, timezone

import pytest
from azure.communication.chat import ChatMessageType, ChatParticipant
from azure.communication.identity import CommunicationTokenScope
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_threads_messages_and_paging(chat_user):
    ana, _, ana_chat = chat_user()
    bo, _, bo_chat = chat_user()
    created = ana_chat.create_chat_thread(
        "Order 1042", thread_participants=[ChatParticipant(identifier=bo, display_name="Bo")]
    )
    assert created.errors == []
    thread = created.chat_thread
    assert thread.id.startswith("19:") and thread.id.endswith("@thread.v2")
    assert thread.created_by.properties["id"] == ana.properties["id"]
    assert thread.created_on == EPOCH
    ana_thread = ana_chat.get_chat_thread_client(thread.id)
    sent = [ana_thread.send_message(f"message {i}", sender_display_name="Ana").id for i in range(7)]
    html = ana_thread.send_message("<b>bold</b>", chat_message_type=ChatMessageType.HTML, metadata={"k": "v"})
    bo_thread = bo_chat.get_chat_thread_client(thread.id)
    pages = list(bo_thread.list_messages(results_per_page=3).by_page())
    assert [len(list(p)) for p in pages] == [3, 3, 3, 1]
    everything = list(bo_thread.list_messages(results_per_page=3))
    assert [m.id for m in everything][:2] == [html.id, sent[-1]]
    assert everything[0].type == ChatMessageType.HTML and everything[0].metadata == {"k": "v"}
    assert everything[-1].type == ChatMessageType.PARTICIPANT_ADDED
    assert everything[-2].type == ChatMessageType.TOPIC_UPDATED
    assert everything[-2].content.topic == "Order 1042"
    assert {p.identifier.properties["id"] for p in everything[-1].content.participants} == {
        ana.properties["id"],
        bo.properties["id"],
    }
    message = bo_thread.get_message(sent[0])
    assert message.content.message == "message 0" and message.sender.properties["id"] == ana.properties["id"]
    assert message.sequence_id == "3"


def test_start_time_filters_messages(sb, chat_user):
    _, _, chat = chat_user()
    thread = chat.get_chat_thread_client(chat.create_chat_thread("t").chat_thread.id)
    thread.send_message("early")
    sb.advance("10m")
    thread.send_message("late")
    later = list(thread.list_messages(start_time=EPOCH + timedelta(minutes=5)))
    assert [m.content.message for m in later] == ["late"]


def test_edit_delete_topic_typing_and_receipts(chat_user):
    ana, _, ana_chat = chat_user()
    bo, _, bo_chat = chat_user()
    tid = ana_chat.create_chat_thread("t", thread_participants=[ChatParticipant(identifier=bo)]).chat_thread.id
    ana_thread = ana_chat.get_chat_thread_client(tid)
    bo_thread = bo_chat.get_chat_thread_client(tid)
    mid = ana_thread.send_message("hello").id
    ana_thread.update_message(mid, content="hello, edited")
    edited = bo_thread.get_message(mid)
    assert edited.content.message == "hello, edited" and edited.edited_on is not None
    bo_thread.send_typing_notification(sender_display_name="Bo")
    bo_thread.send_read_receipt(mid)
    receipts = list(ana_thread.list_read_receipts())
    assert [(r.sender.properties["id"], r.chat_message_id) for r in receipts] == [(bo.properties["id"], mid)]
    ana_thread.update_topic("new topic")
    assert bo_thread.get_properties().topic == "new topic"
    ana_thread.delete_message(mid)
    assert bo_thread.get_message(mid).deleted_on is not None
    with pytest.raises(HttpResponseError) as e:
        bo_thread.update_message(mid, content="not mine")
    assert e.value.status_code in (403, 404)


def test_participants_add_list_page_and_remove(identity, chat_user):
    ana, _, chat = chat_user()
    tid = chat.create_chat_thread("roster").chat_thread.id
    thread = chat.get_chat_thread_client(tid)
    others = [identity.create_user() for _ in range(4)]
    ghost = identity.create_user()
    identity.delete_user(ghost)
    errors = thread.add_participants([ChatParticipant(identifier=u, display_name=f"u{i}") for i, u in enumerate(others + [ghost])])
    assert [e[0].identifier.properties["id"] for e in errors] == [ghost.properties["id"]]
    pages = list(thread.list_participants(results_per_page=2).by_page())
    assert [len(list(p)) for p in pages] == [2, 2, 1]
    names = {p.identifier.properties["id"]: p.display_name for p in thread.list_participants()}
    assert names[others[0].properties["id"]] == "u0"
    thread.remove_participant(others[0])
    assert len(list(thread.list_participants())) == 4


def test_threads_listing_pages_and_idempotent_create(chat_user):
    _, _, chat = chat_user()
    first = chat.create_chat_thread("same", idempotency_token="k-1").chat_thread.id
    again = chat.create_chat_thread("same", idempotency_token="k-1").chat_thread.id
    assert first == again
    for i in range(4):
        chat.create_chat_thread(f"t{i}")
    pages = list(chat.list_chat_threads(results_per_page=2).by_page())
    assert [len(list(p)) for p in pages] == [2, 2, 1]
    chat.delete_chat_thread(first)
    with pytest.raises(ResourceNotFoundError):
        chat.get_chat_thread_client(first).get_properties()


def test_error_mapping_401_403_404(identity, chat_user):
    ana, token, ana_chat = chat_user()
    _, _, eve_chat = chat_user()
    tid = ana_chat.create_chat_thread("private").chat_thread.id
    with pytest.raises(HttpResponseError) as e:
        eve_chat.get_chat_thread_client(tid).send_message("let me in")
    assert e.value.status_code == 403 and e.value.error.code == "Forbidden"
    with pytest.raises(ResourceNotFoundError):
        ana_chat.get_chat_thread_client(tid).get_message("999")
    identity.revoke_tokens(ana)
    with pytest.raises(ClientAuthenticationError):
        ana_chat.get_chat_thread_client(tid).get_properties()


def test_a_token_without_the_chat_scope_is_403(sb, identity):
    from azure.communication.chat import ChatClient, CommunicationTokenCredential

    _, voip = identity.create_user_and_token([CommunicationTokenScope.VOIP])
    with pytest.raises(HttpResponseError) as e:
        ChatClient(sb.url, CommunicationTokenCredential(voip.token)).create_chat_thread("x")
    assert e.value.status_code == 403


def test_tokens_expire_on_the_virtual_clock(sb, identity):
    from azure.communication.chat import ChatClient, CommunicationTokenCredential

    user = identity.create_user()
    token = identity.get_token(user, [CommunicationTokenScope.CHAT], token_expires_in=timedelta(minutes=60))
    chat = ChatClient(sb.url, CommunicationTokenCredential(token.token))
    chat.create_chat_thread("before")
    sb.advance("59m")
    chat.create_chat_thread("still valid")
    sb.advance("1m")
    with pytest.raises(ClientAuthenticationError):
        chat.create_chat_thread("expired")


def test_429_is_retried_after_the_virtual_retry_after(sb, chat_user):
    """ACS allows 10 get-thread calls per user and thread in 5 s. The 11th is
    429 with retry-after-ms; azure-core's retry policy waits it out and calls
    again, and the test's response hook moves the virtual clock by exactly the
    wait the server asked for, as an application's test would."""
    seen = []

    def hook(response):
        if response.http_response.status_code == 429:
            wait = int(response.http_response.headers["retry-after-ms"])
            seen.append((wait, response.http_response.headers["Retry-After"]))
            sb.advance(wait)

    _, _, chat = chat_user(raw_response_hook=hook)
    tid = chat.create_chat_thread("busy").chat_thread.id
    thread = chat.get_chat_thread_client(tid, raw_response_hook=hook)
    for _ in range(11):
        assert thread.get_properties().topic == "busy"
    assert seen == [(5000, "5")]
    assert sb.call("GET", "clock")["now_ms"] == 5000
    # Without retries the 429 reaches the caller (once the window is clear).
    sb.advance("5s")
    no_retry = chat.get_chat_thread_client(tid, retry_total=0)
    for _ in range(10):
        no_retry.get_properties()
    with pytest.raises(HttpResponseError) as e:
        no_retry.get_properties()
    assert e.value.status_code == 429 and e.value.error.code == "TooManyRequests"
