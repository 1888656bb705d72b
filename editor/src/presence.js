// Presence: who else is in the document, and the colour each shows in. States come
// from other people's clients (the server checks them too): names reach the page only
// as text, colours only as validated `#rrggbb` values in CSS custom properties. Their
// cursors are drawn by `cursors.js`, with the editor.

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
