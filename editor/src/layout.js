// The editor's layout: the text alone, the text beside its preview, or the preview
// alone. Each person's choice is remembered in this browser, for every document.

const LAYOUTS = ["editor", "split", "preview"];

/** Wires the frame's layout buttons, starting from the person's choice or `fallback`;
 * `changed(layout)` runs at the start and on every change. `set(layout)` changes it
 * from elsewhere (without remembering it as a choice). */
export function layoutSwitch(root, user, fallback, signal, changed) {
  const key = `charter.layout.${user}`;
  const buttons = [...root.querySelectorAll("[data-collab-layout]")];
  const apply = (layout) => {
    root.dataset.layout = layout;
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.collabLayout === layout));
    }
    changed(layout);
  };
  let saved = null;
  try {
    saved = localStorage.getItem(key);
  } catch {
    // Storage turned off: the default layout.
  }
  apply(LAYOUTS.includes(saved) ? saved : fallback);
  for (const button of buttons) {
    button.addEventListener(
      "click",
      () => {
        apply(button.dataset.collabLayout);
        try {
          localStorage.setItem(key, button.dataset.collabLayout);
        } catch {
          // Not remembered, but applied.
        }
      },
      { signal },
    );
  }
  return { set: apply };
}
