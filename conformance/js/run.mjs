// Runs the JavaScript conformance tests against one `switchboard serve --tls`.
// The server's CA is trusted by the test process only: NODE_EXTRA_CA_CERTS is
// read when Node starts, so the tests run in a child process whose environment
// points it at the machine's bundle plus the server's certificate.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import https from "node:https";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.SWITCHBOARD_BIN ?? resolve(here, "../../target/release/switchboard");
const state = mkdtempSync(join(tmpdir(), "switchboard-conformance-js-"));
const server = spawn(bin, ["serve", "--tls", "--seed", "1", "--state-dir", state], {
  stdio: ["ignore", "pipe", "inherit"],
});
const line = await new Promise((ok, fail) => {
  createInterface({ input: server.stdout }).once("line", ok);
  server.once("exit", (code) => fail(new Error(`switchboard serve exited with ${code}`)));
});
const info = JSON.parse(line);
const existing = process.env.NODE_EXTRA_CA_CERTS;
const bundle = join(state, "bundle.pem");
writeFileSync(
  bundle,
  (existing && existsSync(existing) ? readFileSync(existing, "utf8") + "\n" : "") +
    readFileSync(info.ca_cert, "utf8"),
);
const tests = spawn(
  process.execPath,
  ["--test", "--test-concurrency=1", "--test-reporter=spec", join(here, "test")],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: bundle,
      SWITCHBOARD_URL: info.listening,
      SWITCHBOARD_CONNECTION_STRING: info.acs_connection_string,
      SWITCHBOARD_CA: info.ca_cert,
      SWITCHBOARD_BIN: bin,
    },
  },
);
const status = await new Promise((ok) => tests.once("exit", (code) => ok(code ?? 1)));
await new Promise((ok) => {
  const request = https.request(
    `${info.listening}/_switchboard/shutdown`,
    { method: "POST", ca: readFileSync(info.ca_cert) },
    (response) => response.resume().on("end", ok),
  );
  request.on("error", ok);
  request.end();
});
const served = await new Promise((ok) => server.once("exit", (code) => ok(code)));
if (served !== 0) {
  console.error(`switchboard serve exited with ${served}`);
  process.exit(1);
}
process.exit(status);
