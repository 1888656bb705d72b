// Presence states pass through the server checked: a state that is not JSON, which
// the stock y-protocols client throws on, never reaches it, and a colour that is CSS
// rather than `#rrggbb` arrives replaced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { close, connect, newSpec, signUp, synced, uniqueName, waitFor } from "./support.mjs";

const base = process.env.CHARTER_URL ?? "http://127.0.0.1:3000";

function varUint(value) {
  const bytes = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

/** An awareness message with one client's state as raw text, JSON or not. */
function rawAwareness(clientId, state) {
  const text = [...new TextEncoder().encode(state)];
  const update = [...varUint(1), ...varUint(clientId), ...varUint(1), ...varUint(text.length), ...text];
  return new Uint8Array([...varUint(1), ...varUint(update.length), ...update]);
}

test("hostile presence never reaches a stock client unchecked", async () => {
  const cookie = await signUp(base, uniqueName("presence"));
  const documentId = await newSpec(base, cookie);
  const mallory = connect(base, cookie, documentId);
  await synced(mallory);
  mallory.provider.ws.send(rawAwareness(4242, "{not json"));
  mallory.provider.awareness.setLocalStateField("user", { name: "Admin", color: "red; position:fixed" });

  const watcher = connect(base, cookie, documentId);
  await synced(watcher);
  const states = () => watcher.provider.awareness.getStates();
  await waitFor("mallory's presence arrives", () => states().get(mallory.doc.clientID)?.user);
  assert.match(states().get(mallory.doc.clientID).user.color, /^#[0-9a-f]{6}$/i);
  assert.notEqual(states().get(mallory.doc.clientID).user.name, "Admin");
  assert.equal(states().has(4242), false);
  close(mallory, watcher);
});
