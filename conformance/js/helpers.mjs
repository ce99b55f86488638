// The server under test and its control plane, for the test files.
import https from "node:https";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";

export const url = process.env.SWITCHBOARD_URL;
export const connectionString = process.env.SWITCHBOARD_CONNECTION_STRING;
const ca = readFileSync(process.env.SWITCHBOARD_CA);

/** A control-plane call: the JSON answer (the text of the trace). */
export function control(method, path, body) {
  return new Promise((ok, fail) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const request = https.request(
      `${url}/_switchboard/${path}`,
      { method, ca, headers: data ? { "content-type": "application/json" } : {} },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => {
          const json = (response.headers["content-type"] ?? "").startsWith("application/json");
          ok(json ? JSON.parse(text) : text);
        });
      },
    );
    request.on("error", fail);
    if (data) request.write(data);
    request.end();
  });
}

export const advance = (by) => control("POST", "clock/advance", { by });

/** A fresh world before a test. */
export const reset = () => control("POST", "reset", { seed: 1, profile: "acs" });

/** After a test: the recorded session replays to the server's trace. */
export async function replays() {
  const scenario = await control("GET", "scenario");
  const trace = await control("GET", "trace");
  const file = join(mkdtempSync(join(tmpdir(), "switchboard-replay-")), "session.json");
  writeFileSync(file, JSON.stringify(scenario));
  const out = execFileSync(process.env.SWITCHBOARD_BIN, ["run", file], { encoding: "utf8" });
  assert.equal(out, trace, "the recorded session does not replay to the server's trace");
}

export const identity = () => new CommunicationIdentityClient(connectionString);

/** A new user with a chat client: { user, token, chat }. */
export async function chatUser(options = {}) {
  const { user, token } = await identity().createUserAndToken(["chat"]);
  const chat = new ChatClient(url, new AzureCommunicationTokenCredential(token), options);
  return { user, token, chat };
}

/** Collects an async iterator. */
export async function all(iterator) {
  const out = [];
  for await (const item of iterator) out.push(item);
  return out;
}
