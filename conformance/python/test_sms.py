"""The SMS SDK (azure-communication-sms): per-recipient results, delivery
reports on the virtual clock."""

from azure.communication.sms import SmsClient


def test_send_to_several_recipients(sb):
    client = SmsClient.from_connection_string(sb.connection_string)
    results = client.send(
        from_="+18005550199",
        to=["+14255550100", "+14255550101", "not-a-number"],
        message="Your code is 123456",
        enable_delivery_report=True,
        tag="conformance",
    )
    assert [r.to for r in results] == ["+14255550100", "+14255550101", "not-a-number"]
    assert [r.successful for r in results] == [True, True, False]
    assert results[0].message_id and results[0].http_status_code == 202
    assert results[2].http_status_code == 400 and results[2].error_message
    queued = sb.call("GET", "outbox?status=queued")["items"]
    assert len(queued) == 2
    sb.advance("1m")
    final = sb.call("GET", "outbox")["items"]
    assert all(d["status"] != "queued" for d in final)
    assert sb.call("GET", "outbox?to=%2B14255550100")["items"][0]["to"] == "+14255550100"
