// The spec lint's findings: counted in the editor's bar, listed in a panel the count
// opens (choosing one puts the cursor at it), and marked on the preview's blocks.

import { blockMarks } from "./sync.js";

/** The preview block a line is in: the one after the last mark at or before it. */
function blockOf(pane, line) {
  const found = blockMarks(pane).findLast((mark) => mark.line <= line)?.mark;
  if (!found) return null;
  // A list item's mark sits inside the item; a block's mark just before it.
  return found.parentElement?.tagName === "LI" ? found.parentElement : found.nextElementSibling;
}

function summary(findings) {
  if (findings.length === 0) return "No findings";
  const errors = findings.filter((finding) => finding.severity === "error").length;
  const count = `${findings.length} finding${findings.length === 1 ? "" : "s"}`;
  return errors ? `${count} (${errors} error${errors === 1 ? "" : "s"})` : count;
}

/** `showText` makes the text visible, for a finding chosen while only the preview is. */
export function problemsPanel(root, view, pane, showText, signal) {
  const button = root.querySelector("[data-collab-findings]");
  const panel = root.querySelector("[data-collab-problems]");
  const list = panel.querySelector("ul");
  let findings = [];

  const toggle = () => {
    const opening = panel.hidden;
    panel.hidden = !opening;
    button.setAttribute("aria-expanded", String(opening));
  };
  button.addEventListener("click", toggle, { signal });

  const goTo = (finding) => {
    const doc = view.state.doc;
    if (finding.line > doc.lines) return;
    if (root.dataset.layout === "preview") showText();
    const line = doc.line(finding.line);
    const at = Math.min(line.from + Math.max(finding.column - 1, 0), line.to);
    view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
    view.focus();
  };

  const listFindings = () => {
    list.replaceChildren(
      ...findings.map((finding) => {
        const item = document.createElement("li");
        const go = document.createElement("button");
        go.type = "button";
        go.className = `problem severity-${finding.severity}`;
        const severity = document.createElement("span");
        severity.className = `badge severity-${finding.severity}`;
        severity.textContent = finding.severity;
        const rule = document.createElement("code");
        rule.className = "muted";
        rule.textContent = finding.rule;
        go.append(severity, ` Line ${finding.line}: ${finding.message} `, rule);
        go.addEventListener("click", () => goTo(finding));
        item.append(go);
        return item;
      }),
    );
  };

  /** Marks the preview's blocks that hold findings; run again after each render. */
  const markPreview = () => {
    for (const marked of pane.querySelectorAll("[data-finding]")) {
      marked.removeAttribute("data-finding");
      marked.removeAttribute("title");
    }
    for (const finding of findings) {
      const block = blockOf(pane, finding.line);
      if (!block) continue;
      // The most serious finding names the block's mark.
      if (block.dataset.finding !== "error") block.dataset.finding = finding.severity;
      block.title = block.title ? `${block.title}\n${finding.message}` : finding.message;
    }
  };

  return {
    show(next) {
      if (signal.aborted) return;
      findings = next;
      button.textContent = summary(findings);
      button.dataset.count = String(findings.length);
      button.hidden = false;
      listFindings();
      markPreview();
    },
    markPreview,
  };
}
