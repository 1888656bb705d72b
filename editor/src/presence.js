// Presence: who else is in the document and where their cursors are. States come from
// other people's clients (the server checks them too): names reach the page only as
// text, colours only as validated `#rrggbb` values in CSS custom properties.

import * as Y from "yjs";
import { Annotation } from "@codemirror/state";
import { EditorView, Decoration, ViewPlugin, WidgetType } from "@codemirror/view";

const FALLBACK_COLOR = "#6b7280";
const COLOR = /^#[0-9a-fA-F]{6}$/;
const MAX_NAME = 64;

export function safeColor(value) {
  return typeof value === "string" && COLOR.test(value) ? value : FALLBACK_COLOR;
}

/** What the page may show of a presence state: a name and a colour. */
export function person(state) {
  const user = state && typeof state.user === "object" && state.user !== null ? state.user : {};
  const name = typeof user.name === "string" && user.name.trim() !== "" ? user.name.slice(0, MAX_NAME) : "Someone";
  return { name, color: safeColor(user.color) };
}

/**
 * Keeps this session's colour apart from everyone else's present: `preferred` (the
 * person's own) while nobody else has it, else the next of `palette` after it that nobody
 * has (the palette puts far hues next to each other). Of two sessions with one colour,
 * the one with the higher client id gives way, so that they never both change.
 */
export function keepColorDistinct(awareness, preferred, palette) {
  const choose = () => {
    const mine = person(awareness.getLocalState()).color;
    const others = [];
    for (const [clientId, state] of awareness.getStates()) {
      if (clientId !== awareness.clientID && state && state.user) others.push({ clientId, color: person(state).color });
    }
    if (!others.some((other) => other.color === mine && other.clientId < awareness.clientID)) return;
    const taken = new Set(others.map((other) => other.color));
    const after = palette.indexOf(preferred) + 1;
    const color = [preferred, ...palette.slice(after), ...palette.slice(0, after)].find((candidate) => !taken.has(candidate));
    if (color && color !== mine) {
      awareness.setLocalStateField("user", { ...awareness.getLocalState().user, color, colorLight: `${color}33` });
    }
  };
  awareness.on("change", choose);
  choose();
}

/** The people in the document, from awareness, as a list with their colours. */
export function renderPresence(list, awareness) {
  if (!list) return;
  const people = [];
  for (const [clientId, state] of awareness.getStates()) {
    if (!state || !state.user) continue;
    people.push({ self: clientId === awareness.clientID, ...person(state) });
  }
  people.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
  list.replaceChildren(
    ...people.map((someone) => {
      const item = document.createElement("li");
      const dot = document.createElement("span");
      dot.className = "presence-dot";
      dot.style.backgroundColor = someone.color;
      item.append(dot, someone.self ? `${someone.name} (you)` : someone.name);
      return item;
    }),
  );
}

const remoteTheme = EditorView.baseTheme({
  ".cm-ySelection, .cm-yLineSelection": { backgroundColor: "var(--remote-light)" },
  ".cm-yLineSelection": { padding: 0, margin: "0px 2px 0px 4px" },
  ".cm-ySelectionCaret": {
    position: "relative",
    borderLeft: "1px solid var(--remote-color)",
    borderRight: "1px solid var(--remote-color)",
    marginLeft: "-1px",
    marginRight: "-1px",
    boxSizing: "border-box",
    display: "inline",
  },
  ".cm-ySelectionInfo": {
    position: "absolute",
    top: "-1.05em",
    left: "-1px",
    fontSize: ".75em",
    whiteSpace: "nowrap",
    userSelect: "none",
    color: "white",
    backgroundColor: "var(--remote-color)",
    paddingLeft: "2px",
    paddingRight: "2px",
    zIndex: 101,
  },
});

/**
 * Another person's caret, labelled with their name. The label fades after a moment
 * (style/main.css); a caret that moved is drawn afresh, so the name shows again while
 * they type.
 */
class RemoteCaret extends WidgetType {
  constructor(color, name, at) {
    super();
    this.color = color;
    this.name = name;
    this.at = at;
  }

  toDOM() {
    const caret = document.createElement("span");
    caret.className = "cm-ySelectionCaret";
    caret.style.setProperty("--remote-color", this.color);
    const info = document.createElement("div");
    info.className = "cm-ySelectionInfo";
    info.textContent = this.name;
    caret.append("\u2060", info);
    return caret;
  }

  eq(other) {
    return other.color === this.color && other.name === this.name && other.at === this.at;
  }

  get estimatedHeight() {
    return -1;
  }

  ignoreEvent() {
    return true;
  }
}

/** A received cursor as offsets in the text, or null when it does not point into it. */
function offsets(cursor, ytext, length) {
  if (!cursor || cursor.anchor == null || cursor.head == null) return null;
  try {
    const [anchor, head] = [cursor.anchor, cursor.head].map((json) =>
      Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), ytext.doc),
    );
    if (!anchor || !head || anchor.type !== ytext || head.type !== ytext) return null;
    if (anchor.index > length || head.index > length) return null;
    return { anchor: anchor.index, head: head.index };
  } catch {
    return null;
  }
}

function decorations(doc, ytext, awareness) {
  const ranges = [];
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID || !state) continue;
    const at = offsets(state.cursor, ytext, doc.length);
    if (!at) continue;
    const { name, color } = person(state);
    const light = { style: `--remote-light: ${color}33` };
    const mark = Decoration.mark({ class: "cm-ySelection", attributes: light });
    const [from, to] = [Math.min(at.anchor, at.head), Math.max(at.anchor, at.head)];
    const first = doc.lineAt(from);
    const last = doc.lineAt(to);
    if (from < Math.min(to, first.to)) ranges.push(mark.range(from, Math.min(to, first.to)));
    for (let number = first.number + 1; number < last.number; number++) {
      const line = doc.line(number);
      ranges.push(Decoration.line({ class: "cm-yLineSelection", attributes: light }).range(line.from));
    }
    if (last.number > first.number && last.from < to) ranges.push(mark.range(last.from, to));
    // The caret sits outside the selection, so this person's own caret is not hidden in it.
    const side = at.head > at.anchor ? -1 : 1;
    ranges.push(Decoration.widget({ widget: new RemoteCaret(color, name, at.head), side }).range(at.head));
  }
  return Decoration.set(ranges, true);
}

const presenceChanged = Annotation.define();

/** Shares this person's selection and shows everyone else's, from `awareness`. */
export function remoteCursors(ytext, awareness) {
  const plugin = ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.decorations = Decoration.none;
        this.onChange = ({ added, updated, removed }) => {
          if ([...added, ...updated, ...removed].some((client) => client !== awareness.clientID)) {
            view.dispatch({ annotations: presenceChanged.of(true) });
          }
        };
        awareness.on("change", this.onChange);
      }

      destroy() {
        awareness.off("change", this.onChange);
      }

      update(update) {
        const local = awareness.getLocalState();
        if (local && (update.selectionSet || update.docChanged || !local.cursor)) {
          const { anchor, head } = update.state.selection.main;
          const position = (index) => Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, index));
          const cursor = { anchor: position(anchor), head: position(head) };
          if (JSON.stringify(cursor) !== JSON.stringify(local.cursor)) awareness.setLocalStateField("cursor", cursor);
        }
        this.decorations = decorations(update.state.doc, ytext, awareness);
      }
    },
    { decorations: (value) => value.decorations },
  );
  return [remoteTheme, plugin];
}
