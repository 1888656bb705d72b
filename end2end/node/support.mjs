// Stock Yjs clients for Charter: the real `yjs` and `y-websocket` packages, on `ws`.
import WebSocket from "ws";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";

export const PASSWORD = "correct horse battery";

export function uniqueName(prefix) {
  return `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}

/** Signs up and returns the session cookie. */
export async function signUp(base, username) {
  const response = await fetch(`${base}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: base },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  return response.headers.get("set-cookie").split(";")[0];
}

export async function api(base, cookie, method, path, body) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", origin: base, cookie },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

/** A project with one empty spec; returns the spec's id. */
export async function newSpec(base, cookie) {
  const project = await api(base, cookie, "POST", "/projects", { name: uniqueName("Project") });
  const spec = await api(base, cookie, "POST", `/projects/${project.id}/documents`, { title: "Spec", kind: "spec" });
  return spec.id;
}

/** A y-websocket provider exactly as a page would make one, with the session cookie. */
export function connect(base, cookie, documentId) {
  const doc = new Y.Doc();
  // Browsers send the cookie and Origin themselves; `ws` needs them spelled out.
  const Polyfill = class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers: { cookie, origin: base } });
    }
  };
  const provider = new WebsocketProvider(`${base.replace("http", "ws")}/collab`, documentId, doc, {
    WebSocketPolyfill: Polyfill,
    params: { branch: "main" },
    maxBackoffTime: 300,
    // Clients in one process would otherwise also talk over y-websocket's in-process
    // broadcast channel, around the server: these tests are about the server.
    disableBc: true,
  });
  return { doc, text: doc.getText("content"), provider };
}

export function synced(client) {
  if (client.provider.synced) return Promise.resolve();
  return new Promise((resolve) => client.provider.once("sync", (isSynced) => isSynced && resolve()));
}

export async function waitFor(what, condition, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function close(...clients) {
  for (const client of clients) {
    client.provider.destroy();
    client.doc.destroy();
  }
}
