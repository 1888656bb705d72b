// The text editor: CodeMirror bound to the document's Y.Text, with the spec lint, open
// questions marked, other people's cursors, the problems panel and scrolling with the
// preview. A chunk of its own, loaded when a layout shows the text: a page showing
// only the preview (a viewer's, by default) does without it.

import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";
import { Compartment, EditorState } from "@codemirror/state";
import {
  EditorView,
  Decoration,
  MatchDecorator,
  ViewPlugin,
  keymap,
  lineNumbers,
  drawSelection,
  highlightActiveLine,
  highlightSpecialChars,
} from "@codemirror/view";
import { linter, lintGutter, lintKeymap } from "@codemirror/lint";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { commonmarkLanguage, markdownKeymap, pasteURLAsLink } from "@codemirror/lang-markdown";
import {
  LanguageSupport,
  syntaxHighlighting,
  defaultHighlightStyle,
  bracketMatching,
  foldGutter,
  foldKeymap,
} from "@codemirror/language";
import { search, searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { remoteCursors } from "./cursors.js";
import { problemsPanel } from "./problems.js";
import { scrollSync } from "./sync.js";

const LINT_DELAY_MS = 400;

/** `[NEEDS CLARIFICATION: …]` markers stand out, so open questions can't be missed. */
const clarificationMarks = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.decorator = new MatchDecorator({
        regexp: /\[NEEDS CLARIFICATION:[^\]\n]*\]/gi,
        decoration: Decoration.mark({ class: "cm-clarification", attributes: { title: "Open question" } }),
      });
      this.decorations = this.decorator.createDeco(view);
    }
    update(update) {
      this.decorations = this.decorator.updateDeco(update, this.decorations);
    }
  },
  { decorations: (plugin) => plugin.decorations },
);

/** Charter's spec lint, run by the server on the text as it is on screen (against the
 * rest of the project as stored), shown as CodeMirror diagnostics while people type;
 * `report` is given the findings that still fit the text. */
function specLint(documentId, branch, report) {
  return linter(
    async (view) => {
      const text = view.state.doc.toString();
      let findings = [];
      try {
        const response = await fetch(
          `/api/v1/documents/${documentId}/lint?branch=${encodeURIComponent(branch || "main")}`,
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ content: text }),
          },
        );
        if (!response.ok) return [];
        findings = await response.json();
      } catch {
        return [];
      }
      // The text may have changed while the server looked: findings past the end are dropped.
      const doc = view.state.doc;
      const current = findings.filter((finding) => finding.line <= doc.lines);
      report(current);
      return current.map((finding) => {
        const line = doc.line(finding.line);
        const from = Math.min(line.from + finding.column - 1, line.to);
        const to = Math.min(from + finding.length, line.to);
        return { from, to: Math.max(to, from), severity: finding.severity, source: finding.rule, message: finding.message };
      });
    },
    { delay: LINT_DELAY_MS },
  );
}

/** What the text is written in: with a contract's `languages`, YAML or JSON (JSON
 * starts with `{` or `[`, as the server reads it), else Markdown. */
function languageOf(languages, text) {
  if (!languages) return "Markdown";
  return /^\uFEFF?\s*[{[]/.test(text) ? "JSON" : "YAML";
}

/** The editing support for a language: Markdown with list continuation and link
 * pasting and its open questions marked; a contract's language with folding. */
function languageSupport(language, languages) {
  switch (language) {
    case "JSON":
      return [languages.json(), foldGutter(), keymap.of(foldKeymap)];
    case "YAML":
      return [languages.yaml(), foldGutter(), keymap.of(foldKeymap)];
    default:
      // CommonMark with list continuation, as `markdown()` gives, without the HTML
      // parser (and the CSS and JavaScript ones it brings) it adds for raw HTML: most
      // of its weight.
      return [new LanguageSupport(commonmarkLanguage), pasteURLAsLink, keymap.of(markdownKeymap), clarificationMarks];
  }
}

/** Whether the editor accepts input. */
function editability(readOnly, language) {
  return [
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
    EditorView.contentAttributes.of({ "aria-label": language, "aria-readonly": String(readOnly) }),
  ];
}

/** Mounts the text editor in the frame's host; `languages` are a contract's (its
 * chunk), none for Markdown. `showText` switches to a layout that shows it;
 * everything stops with `signal`. */
export function createEditor({ root, host, ytext, awareness, documentId, languages, branch, readOnly, pane, showText, signal }) {
  const language = languageOf(languages, ytext.toString());
  // Undo and redo take back only this person's own edits.
  const undoManager = new Y.UndoManager(ytext);
  const editing = new Compartment();
  host.replaceChildren();
  // Made once the view is: the lint reports to it.
  let problems = null;
  const view = new EditorView({
    parent: host,
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
        languageSupport(language, languages),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        search({ top: true }),
        keymap.of([...yUndoManagerKeymap, ...searchKeymap, ...lintKeymap, ...defaultKeymap, indentWithTab]),
        lintGutter(),
        specLint(documentId, branch, (findings) => problems?.show(findings)),
        editing.of(editability(readOnly, language)),
        // Remote cursors are drawn by `remoteCursors`, which checks what it is sent.
        yCollab(ytext, null, { undoManager }),
        remoteCursors(ytext, awareness),
      ],
    }),
  });
  problems = problemsPanel(root, view, pane, showText, signal);
  scrollSync(view, pane, () => root.dataset.layout === "split", signal);
  // Asked for focus (the skip link) while this was still loading.
  if (document.activeElement === root) view.focus();
  return {
    markPreview: () => problems.markPreview(),
    focus: () => view.focus(),
    lock() {
      view.dispatch({ effects: editing.reconfigure(editability(true, language)) });
    },
    destroy() {
      view.destroy();
      undoManager.destroy();
    },
  };
}
