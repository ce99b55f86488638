// The Identity SDK (@azure/communication-identity): every call, HMAC auth.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { connectionString, identity, reset, replays } from "../helpers.mjs";

beforeEach(reset);
afterEach(replays);

test("create users with and without tokens, issue, revoke and delete", async () => {
  const client = identity();
  const user = await client.createUser();
  assert.match(user.communicationUserId, /^8:acs:/);
  const { user: second, token, expiresOn } = await client.createUserAndToken(["chat", "voip"]);
  assert.notEqual(second.communicationUserId, user.communicationUserId);
  assert.equal(token.split(".").length, 3);
  assert.equal(expiresOn.toISOString(), "2026-01-02T00:00:00.000Z");
  const issued = await client.getToken(user, ["chat"], { tokenExpiresInMinutes: 60 });
  assert.equal(issued.expiresOn.toISOString(), "2026-01-01T01:00:00.000Z");
  await client.revokeTokens(user);
  await client.deleteUser(user);
  await assert.rejects(client.deleteUser(user), (e) => e.statusCode === 404);
});

test("a bad lifetime is 400 and a wrong access key is 401", async () => {
  const client = identity();
  const user = await client.createUser();
  await assert.rejects(
    client.getToken(user, ["chat"], { tokenExpiresInMinutes: 30 }),
    (e) => e.statusCode === 400 && e.code === "BadRequest",
  );
  const key = connectionString.split("accesskey=")[1];
  const wrong = connectionString.replace(key, (key[0] === "A" ? "B" : "A") + key.slice(1));
  await assert.rejects(new CommunicationIdentityClient(wrong).createUser(), (e) => e.statusCode === 401);
});
