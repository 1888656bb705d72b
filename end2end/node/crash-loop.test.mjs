// A crash loop: five stock Yjs clients (yjs + y-websocket) edit three documents at
// random for the whole test while the server is killed (SIGKILL) and restarted twenty
// times at random moments. Afterwards every client converges, and every edit any
// client had received from another is in every client and in the stored state, which
// a last kill and restart, with every client gone, reads back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OwnServer } from "../support/server.mjs";
import { api, close, connect, newSpec, signUp, synced, uniqueName, waitFor } from "./support.mjs";

const CLIENTS = 5;
const DOCUMENTS = 3;
const KILLS = 20;
const TOKEN = /c(\d+)-(\d+);/g;

// y-websocket adds a process exit listener per provider; fifteen are expected here.
process.setMaxListeners(CLIENTS * DOCUMENTS + 10);

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const randomInt = (below) => Math.floor(Math.random() * below);

/** Inserts `token` between two whole tokens, so tokens never split each other. */
function insertToken(text, token) {
  const current = text.toString();
  const boundaries = [0];
  for (let at = current.indexOf(";"); at !== -1; at = current.indexOf(";", at + 1)) boundaries.push(at + 1);
  text.insert(boundaries[randomInt(boundaries.length)], token);
}

test("twenty kill -9s while five clients edit three documents lose nothing anyone received", async () => {
  const server = new OwnServer(Number(process.env.CHARTER_CRASH_PORT), process.env.CHARTER_CRASH_DATABASE_URL);
  await server.start();
  try {
    const cookie = await signUp(server.url, uniqueName("loop"));
    const first = await newSpec(server.url, cookie);
    const projectId = (await api(server.url, cookie, "GET", `/documents/${first}`)).project_id;
    const documents = [first];
    while (documents.length < DOCUMENTS) {
      const spec = await api(server.url, cookie, "POST", `/projects/${projectId}/documents`, {
        title: `Spec ${documents.length}`,
        kind: "spec",
      });
      documents.push(spec.id);
    }
    // clients[c][d]: client c's copy of document d.
    const clients = Array.from({ length: CLIENTS }, () => documents.map((id) => connect(server.url, cookie, id)));
    await Promise.all(clients.flat().map(synced));

    // What each client has received from another, sampled as the test goes.
    const received = documents.map(() => new Set());
    const sample = () => {
      clients.forEach((copies, c) =>
        copies.forEach((copy, d) => {
          for (const [token, author] of copy.text.toString().matchAll(TOKEN)) {
            if (Number(author) !== c) received[d].add(token);
          }
        }),
      );
    };

    let typing = true;
    let sent = 0;
    const typists = clients.map(async (copies, c) => {
      for (let n = 0; typing; n++) {
        insertToken(copies[randomInt(DOCUMENTS)].text, `c${c}-${n};`);
        sent++;
        await pause(10 + randomInt(30));
      }
    });
    const sampler = (async () => {
      while (typing) {
        sample();
        await pause(50);
      }
    })();

    for (let kill = 0; kill < KILLS; kill++) {
      await pause(150 + randomInt(500));
      await server.kill();
      sample();
      await pause(randomInt(200));
      await server.start();
    }
    await pause(500);
    typing = false;
    await Promise.all([...typists, sampler]);

    // Every client converges on each document.
    await waitFor(
      "every client has every document synced and alike",
      () =>
        clients.flat().every((copy) => copy.provider.synced) &&
        documents.every((_, d) => clients.every((copies) => copies[d].text.toString() === clients[0][d].text.toString())),
      60_000,
    );
    sample();
    const converged = documents.map((_, d) => clients[0][d].text.toString());
    close(...clients.flat());

    // What they converged on was stored: a kill with nobody connected, a restart, and
    // fresh clients read it all back.
    await server.kill();
    await server.start();
    let lost = 0;
    for (const [d, id] of documents.entries()) {
      const fresh = connect(server.url, cookie, id);
      await synced(fresh);
      const stored = fresh.text.toString();
      close(fresh);
      assert.equal(stored, converged[d], `document ${d} as stored`);
      for (const token of received[d]) if (!stored.includes(token)) lost++;
    }
    const receivedCount = received.reduce((sum, tokens) => sum + tokens.size, 0);
    console.log(
      `crash loop: ${KILLS} kills, ${sent} updates sent by ${CLIENTS} clients over ${DOCUMENTS} documents, ` +
        `${receivedCount} received by another client, ${lost} lost`,
    );
    assert.equal(lost, 0);
  } finally {
    await server.kill();
  }
});
