// The server is killed with SIGKILL right after it has accepted a burst of incidents.
// After a restart every incident it answered 202 for is there, and each gets matched:
// accepting meant committed, and the matching queue lives in Postgres.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OwnServer } from "../support/server.mjs";
import { api, signUp, uniqueName, waitFor } from "./support.mjs";

const PAYMENTS = `# Payments

## Requirements

- **PAY-001** The system SHALL charge a card at most once per order.
- **PAY-002** The system SHALL email a receipt within one minute.
`;
const BURST = 200;

test("incidents accepted right before kill -9 exist after a restart and get matched", async () => {
  const server = new OwnServer(Number(process.env.CHARTER_CRASH_PORT), process.env.CHARTER_CRASH_DATABASE_URL);
  await server.start();
  try {
    const cookie = await signUp(server.url, uniqueName("oncall"));
    const project = await api(server.url, cookie, "POST", "/projects", { name: uniqueName("Shop") });
    await api(server.url, cookie, "POST", `/projects/${project.id}/documents`, { title: "Payments", kind: "spec", content: PAYMENTS });
    const { token } = await api(server.url, cookie, "POST", "/tokens", { name: "alerts", scopes: ["incidents:write"] });

    const report = async (n) => {
      const response = await fetch(`${server.url}/api/v1/projects/${project.id}/incidents`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          source: "crash-test", external_id: `INC-${n}`, title: `Card charged twice for order ${n}`,
          description: "A retried payment charged the card again.", severity: "high", service: "payments",
          status: "firing", started_at: new Date().toISOString(),
        }),
      });
      const body = await response.text();
      assert.equal(response.status, 202, body);
      return JSON.parse(body).id;
    };
    const accepted = [];
    for (let start = 0; start < BURST; start += 20) {
      accepted.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => report(start + i)))));
    }
    // At once, before matching can have got through them.
    await server.kill();

    await server.start();
    const listed = await api(server.url, cookie, "GET", `/projects/${project.id}/incidents`);
    const stored = new Set(listed.map((incident) => incident.id));
    const lost = accepted.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${accepted.length} accepted incidents were lost`);
    const waiting = listed.filter((incident) => incident.candidates.length === 0).length;
    console.log(`incident crash: ${accepted.length} accepted before kill -9, ${stored.size} stored after restart (${waiting} still to match), 0 lost`);
    await waitFor("every incident is matched", async () => {
      const now = await api(server.url, cookie, "GET", `/projects/${project.id}/incidents`);
      return now.length === BURST && now.every((incident) => incident.candidates.length > 0);
    }, 120_000);
  } finally {
    await server.kill();
  }
});
