// Hover cards for [[links]] in the preview: the linked text's opening rendered as
// Markdown (by the server, sanitized), in a card laid over the page so that no
// scrolling pane clips it. Shown on hover and on keyboard focus; Escape hides it.

const GAP = 6;
const MARGIN = 8;
const LEAVE_MS = 200;

/** Hover cards for the links in `pane`; `hide()` puts the card away (the preview was
 * rendered again, so its link is gone). */
export function hoverCards(pane, signal) {
  const card = document.createElement("div");
  card.className = "hover-card markdown";
  card.id = `hover-card-${Math.random().toString(36).slice(2)}`;
  card.setAttribute("role", "tooltip");
  card.hidden = true;
  document.body.append(card);
  const rendered = new Map();
  let current = null;

  const render = async (markdown) => {
    if (!rendered.has(markdown)) {
      let html = null;
      try {
        const response = await fetch("/api/v1/render", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ markdown }),
        });
        if (response.ok) html = (await response.json()).html;
      } catch {
        // Offline: the text as it is.
      }
      rendered.set(markdown, html);
    }
    return rendered.get(markdown);
  };

  const place = (link) => {
    const box = link.getBoundingClientRect();
    const left = Math.max(MARGIN, Math.min(box.left, innerWidth - card.offsetWidth - MARGIN));
    let top = box.bottom + GAP;
    if (top + card.offsetHeight > innerHeight - MARGIN) top = Math.max(MARGIN, box.top - card.offsetHeight - GAP);
    card.style.left = `${left}px`;
    card.style.top = `${top}px`;
  };

  let leaving = null;
  const show = async (link) => {
    clearTimeout(leaving);
    current?.removeAttribute("aria-describedby");
    current = link;
    const html = await render(link.dataset.preview);
    if (current !== link) return;
    if (html) card.innerHTML = html;
    else card.textContent = link.dataset.preview;
    card.hidden = false;
    link.setAttribute("aria-describedby", card.id);
    place(link);
  };
  const hide = () => {
    clearTimeout(leaving);
    current?.removeAttribute("aria-describedby");
    current = null;
    card.hidden = true;
  };

  const linkIn = (target) => (target instanceof Element ? target.closest("a.wikilink[data-preview]") : null);
  // The pointer may move from the link onto the card (to read or scroll it) and back.
  const staying = (target) => linkIn(target) === current || (target instanceof Node && card.contains(target));
  const onOver = (event) => {
    const link = linkIn(event.target);
    if (link === current) clearTimeout(leaving);
    else if (link) show(link);
  };
  // A moment's grace, to cross the gap between the link and its card.
  const onOut = (event) => {
    if (staying(event.relatedTarget)) return;
    clearTimeout(leaving);
    leaving = setTimeout(hide, LEAVE_MS);
  };
  const onFocus = (event) => {
    const link = linkIn(event.target);
    if (link) show(link);
  };
  const onKey = (event) => {
    if (event.key === "Escape") hide();
  };
  const options = { signal };
  pane.addEventListener("mouseover", onOver, options);
  pane.addEventListener("mouseout", (event) => linkIn(event.target) && onOut(event), options);
  card.addEventListener("mouseenter", () => clearTimeout(leaving), options);
  card.addEventListener("mouseleave", onOut, options);
  pane.addEventListener("focusin", onFocus, options);
  pane.addEventListener("focusout", hide, options);
  pane.addEventListener("scroll", hide, { passive: true, signal });
  // Laid over the page where the link was: moving the page moves the link from under it.
  addEventListener("scroll", hide, { passive: true, signal });
  addEventListener("resize", hide, options);
  document.addEventListener("keydown", onKey, options);
  signal.addEventListener("abort", () => card.remove());
  return { hide };
}
