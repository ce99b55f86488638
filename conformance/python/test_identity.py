"""The Identity SDK (azure-communication-identity): every call, HMAC auth."""

from datetime import timedelta

import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError


def test_create_user_with_and_without_token(identity):
    user = identity.create_user()
    assert user.properties["id"].startswith("8:acs:")
    user2, token = identity.create_user_and_token([CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP])
    assert user2.properties["id"] != user.properties["id"]
    assert token.token.count(".") == 2
    assert token.expires_on is not None


def test_issue_revoke_and_delete(identity, sb):
    user = identity.create_user()
    token = identity.get_token(user, [CommunicationTokenScope.CHAT], token_expires_in=timedelta(minutes=60))
    assert token.token
    identity.revoke_tokens(user)
    identity.delete_user(user)
    with pytest.raises(ResourceNotFoundError):
        identity.delete_user(user)
    with pytest.raises(ResourceNotFoundError):
        identity.get_token(user, [CommunicationTokenScope.CHAT])


def test_bad_requests_are_400(identity):
    user = identity.create_user()
    with pytest.raises(HttpResponseError) as e:
        identity.get_token(user, ["chat"], token_expires_in=timedelta(minutes=30))
    assert e.value.status_code == 400
    assert e.value.error.code == "BadRequest"


def test_a_wrong_access_key_is_401(sb):
    good = sb.connection_string
    key = good.split("accesskey=")[1]
    wrong = good.replace(key, "A" + key[1:] if key[0] != "A" else "B" + key[1:])
    client = CommunicationIdentityClient.from_connection_string(wrong)
    with pytest.raises(ClientAuthenticationError):
        client.create_user()
