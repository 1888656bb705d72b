// Keeps the text and its preview at the same place while either is scrolled. The
// server marks where each block of the preview starts in the text (`<span data-line>`);
// places between two marks are interpolated.

import { EditorView } from "@codemirror/view";

/** How long the editor's scroll events are ignored after it was scrolled to follow
 * (CodeMirror scrolls in steps as it measures). */
const QUIET_MS = 120;

/** The preview's block marks in order of line, each line after the one before (a
 * document's own HTML may hold a `data-line` of its making: out-of-order ones are
 * left out). */
export function blockMarks(pane) {
  const kept = [];
  for (const mark of pane.querySelectorAll("span[data-line]")) {
    const line = Number(mark.dataset.line);
    if (Number.isInteger(line) && line > (kept.at(-1)?.line ?? 0)) kept.push({ line, mark });
  }
  return kept;
}

/** Each block's first line and its offset in the pane, ending with the text's end at
 * the bottom of the pane, so that either side can be scrolled all the way. */
function marks(pane, lines) {
  const origin = pane.getBoundingClientRect().top - pane.scrollTop;
  const list = blockMarks(pane).map(({ line, mark }) => ({ line, y: mark.getBoundingClientRect().top - origin }));
  if (list.length > 0) list.push({ line: lines + 1, y: Math.max(list.at(-1).y, pane.scrollHeight - pane.clientHeight) });
  return list;
}

/** Where `value` falls between the marks, read in `from` and given in `to`. */
function between(list, value, from, to) {
  if (list.length === 0) return null;
  let index = 0;
  while (index + 1 < list.length && list[index + 1][from] <= value) index += 1;
  const a = list[index];
  const b = list[index + 1];
  if (!b || b[from] === a[from]) return a[to];
  return a[to] + ((b[to] - a[to]) * (value - a[from])) / (b[from] - a[from]);
}

export function scrollSync(view, pane, active, signal) {
  const scroller = view.scrollDOM;
  let quiet = 0;
  // Where the preview was scrolled to follow: its scroll event then is no one's lead.
  let followed = null;
  const padding = () => view.documentPadding.top;

  const onEditor = () => {
    if (!active() || performance.now() < quiet) return;
    const height = Math.max(0, scroller.scrollTop - padding());
    const block = view.lineBlockAtHeight(height);
    const line = view.state.doc.lineAt(block.from).number + (height - block.top) / Math.max(block.height, 1);
    const y = between(marks(pane, view.state.doc.lines), line, "line", "y");
    if (y === null) return;
    pane.scrollTop = y;
    followed = pane.scrollTop;
  };
  const onPreview = () => {
    if (followed !== null && Math.abs(pane.scrollTop - followed) < 2) {
      followed = null;
      return;
    }
    followed = null;
    if (!active()) return;
    const line = between(marks(pane, view.state.doc.lines), pane.scrollTop, "y", "line");
    if (line === null) return;
    const doc = view.state.doc;
    const number = Math.min(Math.max(1, Math.round(line)), doc.lines);
    quiet = performance.now() + QUIET_MS;
    // CodeMirror only estimates the height of lines it has not drawn: it scrolls
    // there itself, measuring as it goes.
    view.dispatch({ effects: EditorView.scrollIntoView(doc.line(number).from, { y: "start", yMargin: 0 }) });
  };
  scroller.addEventListener("scroll", onEditor, { passive: true, signal });
  pane.addEventListener("scroll", onPreview, { passive: true, signal });
}
