// An ACS chat program run against `switchboard serve`: only the endpoint and
// the credentials differ from the real service, and the test moves the
// virtual clock. Run (see the README's "Server mode"):
//
//   switchboard serve --tls > server.json &
//   NODE_EXTRA_CA_CERTS=<ca_cert of server.json> node quickstart.mjs server.json
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";

let line = "";
for (let i = 0; i < 100 && !line.endsWith("\n"); i++) {
  line = readFileSync(process.argv[2], "utf8");
  if (!line.endsWith("\n")) await sleep(100);
}
const server = JSON.parse(line);
const control = (path, body) =>
  fetch(`${server.listening}/_switchboard/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json());

// The application's code, unchanged: identities, a thread, messages.
const identity = new CommunicationIdentityClient(server.acs_connection_string);
const { token } = await identity.createUserAndToken(["chat"]);
const bo = await identity.createUser();
const chat = new ChatClient(server.listening, new AzureCommunicationTokenCredential(token));
const { chatThread } = await chat.createChatThread({ topic: "Lunch?" }, { participants: [{ id: bo }] });
const thread = chat.getChatThreadClient(chatThread.id);
await thread.sendMessage({ content: "12:30 at the usual place?" }, { senderDisplayName: "Ana" });
const texts = [];
for await (const m of thread.listMessages()) if (m.type === "text") texts.push(m.content.message);
console.log(texts);

// The test moves the virtual clock: a day passes at once and the token,
// issued for 24 hours, has expired.
await control("clock/advance", { by: "24h" });
try {
  await thread.sendMessage({ content: "Still there?" });
} catch (e) {
  console.log("after 24 h:", e.statusCode, e.code);
}
