// Hover cards for [[links]] in the preview: the linked text's opening rendered as
// Markdown (by the server, sanitized), in a card laid over the page so that no
// scrolling pane clips it. Shown on hover and on keyboard focus; Escape hides it.

const GAP = 6;
const MARGIN = 8;

export function hoverCards(pane) {
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

  const show = async (link) => {
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
    current?.removeAttribute("aria-describedby");
    current = null;
    card.hidden = true;
  };

  const linkIn = (target) => (target instanceof Element ? target.closest("a.wikilink[data-preview]") : null);
  const onOver = (event) => {
    const link = linkIn(event.target);
    if (link && link !== current) show(link);
  };
  const onOut = (event) => {
    if (linkIn(event.target) && !linkIn(event.relatedTarget)) hide();
  };
  const onFocus = (event) => {
    const link = linkIn(event.target);
    if (link) show(link);
  };
  const onKey = (event) => {
    if (event.key === "Escape") hide();
  };
  pane.addEventListener("mouseover", onOver);
  pane.addEventListener("mouseout", onOut);
  pane.addEventListener("focusin", onFocus);
  pane.addEventListener("focusout", hide);
  pane.addEventListener("scroll", hide, { passive: true });
  document.addEventListener("keydown", onKey);
  return () => {
    document.removeEventListener("keydown", onKey);
    card.remove();
  };
}
