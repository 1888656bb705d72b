// A contract's languages, YAML and JSON: a chunk of their own, loaded only for a
// contract's text, so Markdown documents do without their weight.

export { json } from "@codemirror/lang-json";
export { yaml } from "@codemirror/lang-yaml";
