// An agent on the official MCP TypeScript SDK (`@modelcontextprotocol/sdk`), connected
// over Streamable HTTP with a Charter token, as a coding agent would be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { api, signUp, uniqueName, waitFor } from "./support.mjs";

const base = process.env.CHARTER_URL ?? "http://127.0.0.1:3000";

const SPEC = `# Checkout

## Requirements

- **CHK-001** (P1) The system SHALL keep a cart for 30 days.
  - Given a saved cart, When the shopper returns within 30 days, Then the cart is as they left it.
- **CHK-002** (P2) The system SHALL show the total with taxes before payment.
`;

async function connect(token) {
  const client = new Client({ name: "charter-test-agent", version: "1.0.0" });
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } }));
  return client;
}

/** A person with a project holding the checkout spec, and a token of theirs. */
async function team(scopes = ["read", "write"]) {
  const cookie = await signUp(base, uniqueName("agent_owner"));
  const project = await api(base, cookie, "POST", "/projects", { name: uniqueName("Shop") });
  await api(base, cookie, "POST", `/projects/${project.id}/documents`, { title: "Checkout", kind: "spec", content: SPEC });
  const { token } = await api(base, cookie, "POST", "/tokens", { name: "agent", scopes });
  return { cookie, project, token };
}

async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, `${name} refused: ${JSON.stringify(result.content)}`);
  return result.structuredContent;
}

async function refused(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.equal(result.isError, true, `${name} should refuse: ${JSON.stringify(result.structuredContent)}`);
  return result.content.map((part) => part.text).join(" ");
}

test("an agent reads the constitution, finds a requirement and proposes a change that people see", async () => {
  const { cookie, project, token } = await team();
  const agent = await connect(token);
  try {
    const { tools } = await agent.listTools();
    const names = tools.map((tool) => tool.name).sort();
    assert.deepEqual(names, [
      "answer_question", "get_change_request", "get_constitution", "get_document", "get_requirement", "lint",
      "list_documents", "list_open_questions", "list_projects", "propose_change", "search",
    ]);
    for (const tool of tools) {
      assert.ok(tool.description.length > 20, `${tool.name} says what it does`);
      assert.equal(tool.inputSchema.type, "object", `${tool.name} has an input schema`);
    }

    const constitution = await call(agent, "get_constitution", { project: project.slug });
    assert.equal(constitution.kind, "constitution");
    assert.match(constitution.markdown, /^# /m);

    // The index catches up with the new spec in the background.
    await waitFor("the spec is indexed", async () => {
      const found = await call(agent, "search", { project: project.slug, query: "cart returns", mode: "text" });
      return found.hits[0]?.key === "CHK-001";
    }, 15_000);
    const requirement = await call(agent, "get_requirement", { project: project.slug, requirement: "CHK-001" });
    assert.equal(requirement.key, "CHK-001");
    assert.equal(requirement.acceptance.length, 1);

    const { resources } = await agent.listResources();
    const checkout = resources.find((resource) => resource.uri === `charter://${project.slug}/checkout`);
    assert.ok(checkout, JSON.stringify(resources.map((resource) => resource.uri)));
    const read = await agent.readResource({ uri: checkout.uri });
    assert.equal(read.contents[0].text, SPEC);
    assert.equal(read.contents[0].mimeType, "text/markdown");

    const block = "- **CHK-001** (P1) The system SHALL keep a cart for 90 days.\n" +
      "  - Given a saved cart, When the shopper returns within 90 days, Then the cart is as they left it.";
    const proposed = await call(agent, "propose_change", {
      project: project.slug,
      title: "Keep carts for 90 days",
      description: "Support asked for longer carts.",
      edits: [
        { action: "replace_requirement", key: "CHK-001", block },
        { action: "remove_requirement", key: "CHK-002" },
      ],
    });
    assert.match(proposed.url, new RegExp(`/p/${project.slug}/changes/${proposed.number}$`));

    // The people see it as a change request waiting for review; main is as it was.
    const open = await api(base, cookie, "GET", `/projects/${project.id}/change-requests`);
    assert.deepEqual(open.map((change) => [change.number, change.title, change.state]),
      [[proposed.number, "Keep carts for 90 days", "open"]]);
    const change = await call(agent, "get_change_request", { project: project.slug, number: proposed.number });
    assert.equal(change.documents.length, 1);
    const onMain = await call(agent, "get_document", { project: project.slug, document: "checkout" });
    assert.equal(onMain.markdown, SPEC);
    const proposedText = await call(agent, "get_document", {
      project: project.slug, document: "checkout", branch: proposed.branch,
    });
    assert.match(proposedText.markdown, /90 days/);
    assert.doesNotMatch(proposedText.markdown, /CHK-002/);
  } finally {
    await agent.close();
  }
});

test("without a token an agent cannot connect, and another person's token sees nothing", async () => {
  const { project } = await team();
  await assert.rejects(connect(null), /401|Unauthorized|authentication/i);
  await assert.rejects(connect("charter_forged_token"), /401|Unauthorized|authentication/i);

  const stranger = await team(["read", "write"]);
  const agent = await connect(stranger.token);
  try {
    const { projects } = await call(agent, "list_projects", {});
    assert.deepEqual(projects.map((listed) => listed.slug), [stranger.project.slug]);
    const { resources } = await agent.listResources();
    assert.ok(resources.every((resource) => resource.uri.startsWith(`charter://${stranger.project.slug}/`)));
    assert.match(await refused(agent, "get_document", { project: project.slug, document: "checkout" }), /not found/);
    assert.match(await refused(agent, "search", { project: project.id, query: "cart" }), /not found/);
    await assert.rejects(agent.readResource({ uri: `charter://${project.slug}/checkout` }), /no|not found/i);
  } finally {
    await agent.close();
  }
});
