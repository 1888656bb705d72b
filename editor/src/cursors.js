// Other people's cursors and selections in the editor, from their presence states
// (`presence.js` says what of a state may be shown).

import * as Y from "yjs";
import { Annotation } from "@codemirror/state";
import { EditorView, Decoration, ViewPlugin, WidgetType } from "@codemirror/view";
import { person } from "./presence.js";

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
