// Three stock Yjs clients make random concurrent inserts and deletes, one of them
// offline for a while; all converge, and the server's Markdown is the converged text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, close, connect, newSpec, signUp, synced, uniqueName, waitFor } from "./support.mjs";

const base = process.env.CHARTER_URL ?? "http://127.0.0.1:3000";

/** A seeded pseudo-random generator, so a failure can be replayed. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomEdit(text, rand) {
  const length = text.length;
  if (length > 0 && rand() < 0.35) {
    const at = Math.floor(rand() * length);
    text.delete(at, Math.min(length - at, 1 + Math.floor(rand() * 4)));
  } else {
    const words = ["spec", "SHALL", "é", "😀", "\n", "Given ", "then", "-", " "];
    text.insert(Math.floor(rand() * (length + 1)), words[Math.floor(rand() * words.length)]);
  }
}

test("three clients converge through random concurrent edits and an offline spell", async () => {
  const seed = Number(process.env.CHARTER_SEED ?? Date.now() % 100_000);
  const rand = random(seed);
  const cookie = await signUp(base, uniqueName("yjs"));
  const documentId = await newSpec(base, cookie);
  const clients = [0, 1, 2].map(() => connect(base, cookie, documentId));
  await Promise.all(clients.map(synced));

  const [a, b, c] = clients;
  for (let round = 0; round < 60; round++) {
    if (round === 20) c.provider.disconnect();
    for (const client of clients) {
      client.doc.transact(() => randomEdit(client.text, rand));
    }
    if (round === 45) c.provider.connect();
    await new Promise((resolve) => setTimeout(resolve, rand() * 10));
  }
  await synced(c);

  await waitFor("all three texts agree", () => a.text.toString() === b.text.toString() && b.text.toString() === c.text.toString());
  const converged = a.text.toString();
  assert.ok(converged.length > 0, `seed ${seed}: some text survives`);
  await waitFor("the server's Markdown is the converged text", async () => {
    const doc = await api(base, cookie, "GET", `/documents/${documentId}`);
    return doc.content === converged;
  });
  close(...clients);
});
