// The Chat SDK (@azure/communication-chat) over https: every operation,
// paging through every page, and the error mapping (401, 403, 404, and 429
// honoured by the pipeline's throttling retry with the virtual retry-after).
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { url, identity, chatUser, all, advance, control, reset, replays } from "../helpers.mjs";

beforeEach(reset);
afterEach(replays);

test("threads, messages and paging through every page", async () => {
  const ana = await chatUser();
  const bo = await chatUser();
  const { chatThread, invalidParticipants } = await ana.chat.createChatThread(
    { topic: "Order 1042" },
    { participants: [{ id: bo.user, displayName: "Bo" }] },
  );
  assert.equal(invalidParticipants, undefined);
  assert.match(chatThread.id, /^19:.*@thread\.v2$/);
  assert.equal(chatThread.createdOn.toISOString(), "2026-01-01T00:00:00.000Z");
  const anaThread = ana.chat.getChatThreadClient(chatThread.id);
  const sent = [];
  for (let i = 0; i < 7; i++) {
    sent.push((await anaThread.sendMessage({ content: `message ${i}` }, { senderDisplayName: "Ana" })).id);
  }
  await anaThread.sendMessage({ content: "<b>bold</b>" }, { type: "html", metadata: { k: "v" } });
  const boThread = bo.chat.getChatThreadClient(chatThread.id);
  const pages = await all(boThread.listMessages({ maxPageSize: 3 }).byPage());
  assert.deepEqual(pages.map((p) => p.length), [3, 3, 3, 1]);
  const messages = pages.flat();
  assert.equal(messages[0].type, "html");
  assert.deepEqual(messages[0].metadata, { k: "v" });
  assert.equal(messages[1].id, sent[6]);
  assert.equal(messages.at(-1).type, "participantAdded");
  assert.equal(messages.at(-2).content.topic, "Order 1042");
  const first = await boThread.getMessage(sent[0]);
  assert.equal(first.content.message, "message 0");
  assert.equal(first.sender.communicationUserId, ana.user.communicationUserId);
  await advance("10m");
  await anaThread.sendMessage({ content: "late" });
  const late = await all(boThread.listMessages({ startTime: new Date("2026-01-01T00:05:00Z") }));
  assert.deepEqual(late.map((m) => m.content.message), ["late"]);
});

test("edits, deletes, topic, typing and read receipts", async () => {
  const ana = await chatUser();
  const bo = await chatUser();
  const { chatThread } = await ana.chat.createChatThread({ topic: "t" }, { participants: [{ id: bo.user }] });
  const anaThread = ana.chat.getChatThreadClient(chatThread.id);
  const boThread = bo.chat.getChatThreadClient(chatThread.id);
  const { id } = await anaThread.sendMessage({ content: "hello" });
  await anaThread.updateMessage(id, { content: "hello, edited" });
  const edited = await boThread.getMessage(id);
  assert.equal(edited.content.message, "hello, edited");
  assert.ok(edited.editedOn instanceof Date);
  assert.equal(await boThread.sendTypingNotification({ senderDisplayName: "Bo" }), true);
  await boThread.sendReadReceipt({ chatMessageId: id });
  const receipts = await all(anaThread.listReadReceipts());
  assert.deepEqual(
    receipts.map((r) => [r.sender.communicationUserId, r.chatMessageId]),
    [[bo.user.communicationUserId, id]],
  );
  await anaThread.updateTopic("new topic");
  assert.equal((await boThread.getProperties()).topic, "new topic");
  await anaThread.deleteMessage(id);
  assert.ok((await boThread.getMessage(id)).deletedOn instanceof Date);
});

test("participants: add, list in pages, remove", async () => {
  const ana = await chatUser();
  const client = identity();
  const { chatThread } = await ana.chat.createChatThread({ topic: "roster" });
  const thread = ana.chat.getChatThreadClient(chatThread.id);
  const others = [];
  for (let i = 0; i < 4; i++) others.push(await client.createUser());
  const ghost = await client.createUser();
  await client.deleteUser(ghost);
  const added = await thread.addParticipants({
    participants: [...others, ghost].map((id, i) => ({ id, displayName: `u${i}` })),
  });
  assert.deepEqual(added.invalidParticipants.map((p) => p.target), [ghost.communicationUserId]);
  const pages = await all(thread.listParticipants({ maxPageSize: 2 }).byPage());
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  await thread.removeParticipant(others[0]);
  assert.equal((await all(thread.listParticipants())).length, 4);
});

test("threads listing, idempotent create and delete", async () => {
  const { chat } = await chatUser();
  const first = (await chat.createChatThread({ topic: "same" }, { idempotencyToken: "k-1" })).chatThread.id;
  const again = (await chat.createChatThread({ topic: "same" }, { idempotencyToken: "k-1" })).chatThread.id;
  assert.equal(first, again);
  for (let i = 0; i < 4; i++) await chat.createChatThread({ topic: `t${i}` });
  const pages = await all(chat.listChatThreads({ maxPageSize: 2 }).byPage());
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  await chat.deleteChatThread(first);
  await assert.rejects(chat.getChatThreadClient(first).getProperties(), (e) => e.statusCode === 404);
});

test("errors: 403 for a stranger, 404 for a missing message, 401 after revocation and expiry", async () => {
  const ana = await chatUser();
  const eve = await chatUser();
  const { chatThread } = await ana.chat.createChatThread({ topic: "private" });
  await assert.rejects(
    eve.chat.getChatThreadClient(chatThread.id).sendMessage({ content: "let me in" }),
    (e) => e.statusCode === 403 && e.code === "Forbidden",
  );
  await assert.rejects(ana.chat.getChatThreadClient(chatThread.id).getMessage("999"), (e) => e.statusCode === 404);
  await identity().revokeTokens(ana.user);
  await assert.rejects(ana.chat.getChatThreadClient(chatThread.id).getProperties(), (e) => e.statusCode === 401);
  const user = await identity().createUser();
  const { token } = await identity().getToken(user, ["chat"], { tokenExpiresInMinutes: 60 });
  const chat = new ChatClient(url, new AzureCommunicationTokenCredential(token));
  await chat.createChatThread({ topic: "before" });
  await advance("60m");
  await assert.rejects(chat.createChatThread({ topic: "expired" }), (e) => e.statusCode === 401);
});

test("429 is retried after the virtual retry-after", async () => {
  const seen = [];
  // A per-retry policy moves the virtual clock by the wait the server asked
  // for, as an application's test would; the SDK's throttling retry waits it.
  const advanceOn429 = {
    name: "advanceOn429",
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 429) {
        const wait = Number(response.headers.get("retry-after-ms"));
        seen.push([wait, response.headers.get("retry-after")]);
        await advance(wait);
      }
      return response;
    },
  };
  const { chat } = await chatUser({ additionalPolicies: [{ policy: advanceOn429, position: "perRetry" }] });
  const { chatThread } = await chat.createChatThread({ topic: "busy" });
  const thread = chat.getChatThreadClient(chatThread.id);
  for (let i = 0; i < 11; i++) assert.equal((await thread.getProperties()).topic, "busy");
  assert.deepEqual(seen, [[5000, "5"]]);
  assert.equal((await control("GET", "clock")).now_ms, 5000);
});
