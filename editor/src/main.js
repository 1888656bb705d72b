// Charter's co-editing editor: CodeMirror 6 bound to a Y.Doc that a stock y-websocket
// provider keeps in sync with the server. The page renders the editor's frame
// (`[data-collab-editor]` with its status, presence and preview elements); this module
// brings each frame to life once the page has hydrated, and lets go of frames that
// leave the page.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import { EditorState } from "@codemirror/state";
import {
  EditorView,
  keymap,
  lineNumbers,
  drawSelection,
  highlightActiveLine,
  highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from "@codemirror/language";
import { search, searchKeymap, highlightSelectionMatches } from "@codemirror/search";

const STATUS_LABELS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline: your edits are kept and will sync",
};

const PREVIEW_DELAY_MS = 250;

/** Shows the connection state: once offline, retries keep saying offline until connected. */
function statusTracker(element) {
  let shown = "connecting";
  let connectedBefore = false;
  const show = (state) => {
    shown = state;
    if (element) {
      element.dataset.collabStatus = state;
      element.textContent = STATUS_LABELS[state];
    }
  };
  return ({ status }) => {
    if (status === "connected") {
      connectedBefore = true;
      show("connected");
    } else if (status === "disconnected") {
      show(connectedBefore ? "offline" : "connecting");
    } else if (shown !== "offline") {
      show(connectedBefore ? "reconnecting" : "connecting");
    }
  };
}

/** The people in the document, from awareness, as a list with their colours. */
function renderPresence(list, awareness) {
  if (!list) return;
  const people = [];
  for (const [clientId, state] of awareness.getStates()) {
    if (!state || !state.user) continue;
    people.push({ self: clientId === awareness.clientID, ...state.user });
  }
  people.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
  list.replaceChildren(
    ...people.map((person) => {
      const item = document.createElement("li");
      const dot = document.createElement("span");
      dot.className = "presence-dot";
      dot.style.background = person.color;
      item.append(dot, person.self ? `${person.name} (you)` : person.name);
      return item;
    }),
  );
}

/** Keeps the rendered preview in step with the text, rendered (and sanitized) by the server. */
function previewer(root, ytext) {
  const pane = root.querySelector("[data-collab-preview]");
  const toggle = root.querySelector("[data-collab-preview-toggle]");
  let timer = null;
  let inFlight = null;
  const visible = () => !pane.hidden;
  const refresh = async () => {
    if (!visible()) return;
    inFlight?.abort();
    inFlight = new AbortController();
    try {
      const response = await fetch("/api/v1/render", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ markdown: ytext.toString() }),
        signal: inFlight.signal,
      });
      if (response.ok) pane.innerHTML = (await response.json()).html;
    } catch {
      // Offline or superseded: the next change renders again.
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, PREVIEW_DELAY_MS);
  };
  toggle?.addEventListener("click", () => {
    pane.hidden = !pane.hidden;
    toggle.setAttribute("aria-pressed", String(!pane.hidden));
    root.classList.toggle("without-preview", pane.hidden);
    schedule();
  });
  ytext.observe(schedule);
  return () => {
    clearTimeout(timer);
    inFlight?.abort();
  };
}

function mount(root) {
  const { document: documentId, branch, readonly, user, color } = root.dataset;
  const readOnly = readonly === "true";
  const ydoc = new Y.Doc();
  const ytext = ydoc.getText("content");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const provider = new WebsocketProvider(`${scheme}://${location.host}/collab`, documentId, ydoc, {
    params: { branch: branch || "main" },
  });
  provider.awareness.setLocalStateField("user", { name: user, color, colorLight: `${color}33` });

  provider.on("status", statusTracker(root.querySelector("[data-collab-status]")));
  const presence = root.querySelector("[data-collab-presence]");
  const onAwareness = () => renderPresence(presence, provider.awareness);
  provider.awareness.on("change", onAwareness);
  onAwareness();

  // Undo and redo take back only this person's own edits.
  const undoManager = new Y.UndoManager(ytext);
  const view = new EditorView({
    parent: root.querySelector("[data-collab-host]"),
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        lineNumbers(),
        highlightSpecialChars(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        highlightSelectionMatches(),
        EditorView.lineWrapping,
        markdown(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        search({ top: true }),
        keymap.of([...yUndoManagerKeymap, ...searchKeymap, ...defaultKeymap, indentWithTab]),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        EditorView.contentAttributes.of({ "aria-label": "Markdown", "aria-readonly": String(readOnly) }),
        yCollab(ytext, provider.awareness, { undoManager }),
      ],
    }),
  });
  const stopPreview = previewer(root, ytext);
  root.dataset.collabMounted = "true";

  return () => {
    stopPreview();
    provider.awareness.off("change", onAwareness);
    view.destroy();
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
