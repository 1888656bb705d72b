// Charter's co-editing editor: a Y.Doc that a stock y-websocket provider keeps in sync
// with the server, shown as a live preview and, in its own chunk (`text.js`), as
// CodeMirror text. The page renders the editor's frame (`[data-collab-editor]` with its
// status, presence and preview elements); this module brings each frame to life once
// the page has hydrated, and lets go of frames that leave the page.

import * as Y from "yjs";
import { WebsocketProvider, messageAuth } from "y-websocket";
import * as authProtocol from "y-protocols/auth";
import { hoverCards } from "./cards.js";
import { layoutSwitch } from "./layout.js";
import { keepColorDistinct, renderPresence, safeColor } from "./presence.js";

const STATUS_LABELS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline: your edits are kept and will sync",
  readonly: "Connected, read-only: you may no longer edit here",
};

/** The server's close code for a connection whose sign-in ended. */
const SIGNED_OUT = 4401;
const PREVIEW_DELAY_MS = 250;

async function signedIn() {
  try {
    return (await fetch("/api/v1/me")).ok;
  } catch {
    return false;
  }
}

/** Shows the connection state: once offline, retries keep saying offline until
 * connected; a connection that may no longer edit says so; one the server ended for
 * good says why. */
function statusTracker(element) {
  let shown = "connecting";
  let connectedBefore = false;
  let readOnly = false;
  const show = (state, text = STATUS_LABELS[state]) => {
    shown = state;
    if (element) {
      element.dataset.collabStatus = state;
      element.textContent = text;
    }
  };
  return {
    onStatus({ status }) {
      if (shown === "ended") return;
      if (status === "connected") {
        connectedBefore = true;
        show(readOnly ? "readonly" : "connected");
      } else if (status === "disconnected") {
        show(connectedBefore ? "offline" : "connecting");
      } else if (shown !== "offline") {
        show(connectedBefore ? "reconnecting" : "connecting");
      }
    },
    readOnly() {
      readOnly = true;
      if (shown === "connected") show("readonly");
    },
    ended(reason) {
      show("ended", `Disconnected: ${reason || "your access ended"}`);
    },
  };
}

/** Where the `index`th task checkbox's mark (` ` or `x`) is in the text: list items
 * `- [ ] …` outside fenced code, in order, as the preview renders them. */
function taskMarkOffset(text, index) {
  let offset = 0;
  let fence = null;
  let seen = 0;
  for (const line of text.split("\n")) {
    const opener = line.trimStart().match(/^(`{3,}|~{3,})/);
    if (fence) {
      if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length) fence = null;
    } else if (opener) {
      fence = opener[1];
    } else {
      const task = line.match(/^(\s*(?:[-*+]|\d{1,9}[.)])\s+)\[[ xX]\]/);
      if (task) {
        if (seen === index) return offset + task[1].length + 1;
        seen += 1;
      }
    }
    offset += line.length + 1;
  }
  return null;
}

/** Task checkboxes in the preview tick and untick their item in the text, as an edit
 * everyone in the document sees. */
function taskToggles(pane, ytext, readOnly, signal) {
  const boxes = () => [...pane.querySelectorAll('input[type="checkbox"]')];
  pane.addEventListener("change", (event) => {
    const box = event.target;
    if (readOnly() || !(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    const at = taskMarkOffset(ytext.toString(), boxes().indexOf(box));
    if (at === null) return;
    ytext.doc.transact(() => {
      ytext.delete(at, 1);
      ytext.insert(at, box.checked ? "x" : " ");
    });
  }, { signal });
  // The server renders boxes read-only; people who can edit may tick them here.
  return () => {
    const locked = readOnly();
    for (const box of boxes()) {
      box.disabled = locked;
      if (!locked) box.setAttribute("aria-label", box.checked ? "Done: untick" : "Tick as done");
    }
  };
}

/** Keeps the rendered preview in step with the text, rendered (and sanitized) by the
 * server; `rendered` runs after each render. Nothing is rendered while it is hidden,
 * nor before the text has arrived (the server's rendering stands until then). */
function previewer({ root, pane, ytext, documentId, branch, readOnly, synced, rendered, signal }) {
  let timer = null;
  let inFlight = null;
  const syncTasks = taskToggles(pane, ytext, readOnly, signal);
  syncTasks();
  const visible = () => root.dataset.layout !== "editor";
  const refresh = async () => {
    if (!visible() || !synced() || signal.aborted) return;
    inFlight?.abort();
    inFlight = new AbortController();
    try {
      const response = await fetch("/api/v1/render", {
        method: "POST",
        headers: { "content-type": "application/json" },
        // With the document and branch, [[links]] resolve against the project.
        body: JSON.stringify({ markdown: ytext.toString(), document_id: documentId, branch: branch || "main" }),
        signal: inFlight.signal,
      });
      if (response.ok && !signal.aborted) {
        pane.innerHTML = (await response.json()).html;
        syncTasks();
        rendered();
      }
    } catch {
      // Offline or superseded: the next change renders again.
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    if (!signal.aborted) timer = setTimeout(refresh, PREVIEW_DELAY_MS);
  };
  ytext.observe(schedule);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    inFlight?.abort();
    ytext.unobserve(schedule);
  });
  return {
    syncTasks,
    /** Renders again soon: the layout shows the preview again, or the text arrived. */
    refresh: schedule,
  };
}

function mount(root) {
  const { document: documentId, branch, readonly, user } = root.dataset;
  const access = { readOnly: readonly === "true" };
  const color = safeColor(root.dataset.color);
  const ydoc = new Y.Doc();
  const ytext = ydoc.getText("content");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const onBranch = branch || "main";
  const provider = new WebsocketProvider(`${scheme}://${location.host}/collab`, documentId, ydoc, {
    params: { branch: onBranch },
    connect: false,
  });
  // Tabs of this browser swap updates over a broadcast channel named after the server
  // and the room (the document) only: a tab on another branch of the same document
  // would take in this branch's edits and could send them to its own. The branch goes
  // into the name before the provider first connects (and subscribes).
  provider.bcChannel = `${provider.bcChannel}?branch=${encodeURIComponent(onBranch)}`;
  provider.connect();
  provider.awareness.setLocalStateField("user", { name: user, color, colorLight: `${color}33` });
  const palette = (root.dataset.palette || "").split(",").filter((candidate) => safeColor(candidate) === candidate);
  keepColorDistinct(provider.awareness, color, palette);

  const status = statusTracker(root.querySelector("[data-collab-status]"));
  provider.on("status", status.onStatus);
  // The server ended the connection for good (access revoked, signed out) and the
  // provider stops reconnecting. A session that ended because this browser signed in
  // again has a successor: connect with it. Otherwise say why.
  provider.on("closed", async ({ code, reason }) => {
    if (code === SIGNED_OUT && (await signedIn())) {
      provider.connect();
    } else {
      status.ended(reason);
    }
  });
  const presence = root.querySelector("[data-collab-presence]");
  const onAwareness = () => renderPresence(presence, provider.awareness);
  provider.awareness.on("change", onAwareness);
  onAwareness();

  // Everything this mount listens to stops when it goes.
  const life = new AbortController();
  const { signal } = life;
  const pane = root.querySelector("[data-collab-preview]");
  const host = root.querySelector("[data-collab-host]");
  const preview = previewer({
    root,
    pane,
    ytext,
    documentId,
    branch,
    readOnly: () => access.readOnly,
    synced: () => provider.synced,
    rendered: () => {
      cards.hide();
      editor?.markPreview();
    },
    signal,
  });
  provider.on("sync", (synced) => synced && preview.refresh());

  // The text editor comes with the first layout that shows the text.
  let editor = null;
  let loading = null;
  const showText = () => {
    const contract = root.dataset.kind === "contract";
    loading ??= Promise.all([import("./text.js"), contract ? import("./contract.js") : null]).then(
      ([{ createEditor }, languages]) => {
        if (signal.aborted) return;
        editor = createEditor({ root, host, ytext, awareness: provider.awareness, documentId, languages, branch, readOnly: access.readOnly, pane, showText: () => layout.set("split"), signal });
        root.dataset.collabText = "true";
      },
      () => {
        // A new version was deployed meanwhile, or the connection failed: say so, and
        // try again the next time the text is asked for.
        loading = null;
        host.textContent = "The editor could not be loaded. Reload the page to try again.";
      },
    );
  };
  // Back online after the text's chunk could not be fetched: try again.
  provider.on("status", ({ status: now }) => now === "connected" && root.dataset.layout !== "preview" && showText());
  const layout = layoutSwitch(root, user, access.readOnly ? "preview" : "split", signal, (chosen) => {
    preview.refresh();
    if (chosen !== "preview") showText();
  });
  // The page's "Skip to the editor" link focuses the frame: the text takes it, or the
  // preview while only that is shown.
  root.addEventListener(
    "focus",
    (event) => {
      if (event.target !== root) return;
      if (root.dataset.layout === "preview") pane.focus();
      else editor?.focus();
    },
    { signal },
  );
  const cards = hoverCards(pane, signal);
  // The server says this connection may no longer edit (the person's role changed, or
  // the document was deleted): it stops taking input; its edits would be dropped.
  provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder, ydoc, () => {
      access.readOnly = true;
      editor?.lock();
      preview.syncTasks();
      status.readOnly();
    });
  };
  root.dataset.collabMounted = "true";

  return () => {
    life.abort();
    editor?.destroy();
    provider.awareness.off("change", onAwareness);
    provider.destroy();
    ydoc.destroy();
  };
}

/** The editors on the page, by element: which document and branch each shows. */
const mounted = new Map();

const identity = (root) => `${root.dataset.document}\n${root.dataset.branch}`;

/** Mounts new frames, remounts frames now showing another document or branch (the
 * page may reuse an element and change its data), and tears down those that left. */
function scan() {
  for (const root of document.querySelectorAll("[data-collab-editor]")) {
    const current = mounted.get(root);
    if (current && current.identity === identity(root)) continue;
    current?.destroy();
    mounted.set(root, { identity: identity(root), destroy: mount(root) });
  }
  for (const [root, editor] of mounted) {
    if (!root.isConnected) {
      editor.destroy();
      mounted.delete(root);
    }
  }
}

function start() {
  scan();
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      scan();
    });
  }).observe(document.body, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["data-document", "data-branch"],
  });
}

// Touching the page before it hydrates would break hydration: wait for the app.
if (document.body.dataset.hydrated) {
  start();
} else {
  const waiting = new MutationObserver(() => {
    if (document.body.dataset.hydrated) {
      waiting.disconnect();
      start();
    }
  });
  waiting.observe(document.body, { attributes: true, attributeFilter: ["data-hydrated"] });
}
