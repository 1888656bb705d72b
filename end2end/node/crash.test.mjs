// The server is killed with SIGKILL while one client types and another watches. After
// a restart, everything the watcher had received from the typist is still there, even
// though both of them are gone: the server stored each edit before passing it on.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as Y from "yjs";
import { OwnServer } from "../support/server.mjs";
import { close, connect, newSpec, signUp, synced, uniqueName, waitFor } from "./support.mjs";

test("edits another client has seen survive kill -9", async () => {
  const server = new OwnServer(Number(process.env.CHARTER_CRASH_PORT), process.env.CHARTER_CRASH_DATABASE_URL);
  await server.start();
  try {
    const cookie = await signUp(server.url, uniqueName("crash"));
    const documentId = await newSpec(server.url, cookie);
    const typist = connect(server.url, cookie, documentId);
    const watcher = connect(server.url, cookie, documentId);
    await Promise.all([synced(typist), synced(watcher)]);

    // Appends only, so what the watcher saw is a prefix of what was stored.
    let typing = true;
    const typed = (async () => {
      for (let n = 0; typing; n++) {
        typist.text.insert(typist.text.length, `w${n};`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await waitFor("the watcher has received a good deal", () => watcher.text.length > 400);
    await server.kill();
    typing = false;
    await typed;
    const seen = watcher.text.toString();
    const seenState = Y.encodeStateVector(watcher.doc);
    // Neither client may help: whatever survives, the server stored.
    close(typist, watcher);

    await server.start();
    const fresh = connect(server.url, cookie, documentId);
    await synced(fresh);
    const stored = fresh.text.toString();
    assert.ok(stored.startsWith(seen), `stored ${stored.length} chars; the watcher had seen ${seen.length}`);
    // And as CRDT state: every clock the watcher had, the stored document has.
    const storedClocks = Y.decodeStateVector(Y.encodeStateVector(fresh.doc));
    for (const [client, clock] of Y.decodeStateVector(seenState)) {
      assert.ok((storedClocks.get(client) ?? 0) >= clock, `client ${client}: stored up to ${storedClocks.get(client)}, seen ${clock}`);
    }
    close(fresh);
  } finally {
    await server.kill();
  }
});
