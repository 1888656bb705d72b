//! The backend's modules stand in layers: a module uses modules of its own layer or
//! below, never one above, and modules of one layer use each other without circles;
//! the UI's modules have no circles either. Read from the `crate::…` paths of the
//! source, so that anyone can check it with `cargo test -p charter-backend --test layers`.
//! Test code may reach across layers and is left out. A method called on a type of
//! another module is not seen, so cross-module behaviour lives in free functions
//! (`auth::authenticate`, not `Actor::from_parts`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const LAYERS: &[(&str, &[&str])] = &[
    // What everything may use: errors (and the request id they quote), budgets, the
    // text merge, the caller and held access, transactions of derived data, and whether
    // the database can be reached.
    ("model", &["error", "request_id", "budget", "merge", "access", "derived", "availability"]),
    // Document state, its real-time engine, Markdown rendering, reading contracts, and
    // the embedding model.
    ("content engine", &["collab", "content", "contract", "markdown", "embeddings", "chat"]),
    // What a request brings and finds: extractors, attempt limits, the shared state.
    ("request context", &["extract", "forwarded", "ratelimit", "state"]),
    // People, their credentials and roles, the trail of what they did, and claims on
    // change requests.
    ("identity", &["audit", "accounts", "tokens", "auth", "authorization", "claims"]),
    // The Origin check, security headers and the deadline, around every route.
    ("request guards", &["security", "deadline"]),
    // A project's branches and activity, the templates of new documents, and the
    // webhooks that tell of a project's events.
    ("branches", &["branches", "activity", "templates", "webhooks"]),
    // The document tree (and who may co-edit a document), and versions.
    ("documents and history", &["documents", "history"]),
    // Requirements, links, lint, clarifications and the constitution; live previews.
    ("spec structure", &["structure", "preview", "search", "checks"]),
    // Change requests, restoring versions through them, and projects as a whole.
    ("change requests and projects", &["change_requests", "restore", "proposals", "exchange", "projects", "incidents"]),
    // Every module's routes under `/api/v1`, the OpenAPI document, the MCP server,
    // contract mocks, and `/metrics`.
    ("api", &["api", "mcp", "mock", "telemetry"]),
];

#[test]
fn modules_use_only_their_own_layer_and_below() {
    let uses = module_uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut layer_of = BTreeMap::new();
    for (level, (_, modules)) in LAYERS.iter().enumerate() {
        for module in *modules {
            layer_of.insert(*module, level);
        }
    }
    let placed: BTreeSet<&str> = layer_of.keys().copied().collect();
    let found: BTreeSet<&str> = uses.keys().map(String::as_str).collect();
    assert_eq!(found, placed, "every module has a layer, and every layer's modules exist");

    let mut upward = Vec::new();
    for (module, used) in &uses {
        let level = layer_of[module.as_str()];
        for (target, file) in used {
            match layer_of.get(target.as_str()) {
                Some(&other) if other <= level => {}
                _ => upward.push(format!("{file} uses {target}, which is above {} ({})", module, LAYERS[level].0)),
            }
        }
    }
    assert!(upward.is_empty(), "imports point up a layer:\n{}", upward.join("\n"));

    for (name, modules) in LAYERS {
        let circle = circle_among(modules, &uses);
        assert!(circle.is_empty(), "modules of the {name} layer use each other in a circle: {}", circle.join(" -> "));
    }
    let arrows: usize = uses.values().map(BTreeMap::len).sum();
    println!("{} modules in {} layers, {arrows} arrows between modules", layer_of.len(), LAYERS.len());
}

/// The UI's modules (its pages and what they share, such as the project context) use
/// each other without circles: a page may use another's parts, never in a ring.
#[test]
fn ui_modules_use_each_other_without_circles() {
    let uses = module_uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src"));
    let modules: Vec<&str> = uses.keys().map(String::as_str).collect();
    assert!(modules.contains(&"context") && modules.contains(&"documents"), "the UI's sources are read");
    let circle = circle_among(&modules, &uses);
    assert!(circle.is_empty(), "UI modules use each other in a circle: {}", circle.join(" -> "));
}

/// A circle of uses among `modules`, as the path around it; empty when there is none.
fn circle_among(modules: &[&str], uses: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    fn visit(
        module: &str,
        modules: &[&str],
        uses: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == module) {
            let mut circle = path[start..].to_vec();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if !done.insert(module.to_owned()) {
            return None;
        }
        path.push(module.to_owned());
        for target in uses.get(module).into_iter().flat_map(BTreeMap::keys) {
            if modules.contains(&target.as_str()) {
                if let Some(circle) = visit(target, modules, uses, path, done) {
                    return Some(circle);
                }
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    modules.iter().find_map(|module| visit(module, modules, uses, &mut Vec::new(), &mut done)).unwrap_or_default()
}

/// For each top-level module of the crate rooted at `src`, the other modules its
/// production code uses (tests may reach further), each with the first file that does.
fn module_uses(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let root = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let reexports = reexports(&root);
    let files = rust_files(src);
    let test_only: Vec<PathBuf> = files.iter().flat_map(|file| test_modules(file)).collect();
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files.iter().filter(|file| !test_only.iter().any(|test| file.starts_with(test))) {
        let relative = file.strip_prefix(src).unwrap();
        let module = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let entry = uses.entry(module.clone()).or_default();
        let text = code_only(&fs::read_to_string(file).unwrap());
        let code = production_code(&text);
        // In a file at the crate's root, `super::` is the crate too.
        let top_level = relative.components().count() == 1;
        let names = crate_paths(code, "crate::").into_iter().chain(if top_level {
            crate_paths(code, "super::")
        } else {
            Vec::new()
        });
        for name in names {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target != module {
                entry.entry(target).or_insert_with(|| relative.display().to_string());
            }
        }
    }
    uses
}

/// The places of the modules `file` declares as `#[cfg(test)] mod name;` (a file, or
/// a folder with its files).
fn test_modules(file: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string(file).unwrap();
    let stem = file.file_stem().unwrap();
    let dir = match stem.to_str() {
        Some("lib" | "mod") => file.parent().unwrap().to_path_buf(),
        _ => file.with_extension(""),
    };
    let mut places = Vec::new();
    for (at, _) in text.match_indices("#[cfg(test)]") {
        let declared = text[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(name) = declared.strip_prefix("mod ").and_then(|rest| rest.split_once(';')).map(|(name, _)| name) {
            if !name.contains('{') {
                places.push(dir.join(format!("{}.rs", name.trim())));
                places.push(dir.join(name.trim()));
            }
        }
    }
    places
}

/// The text up to its inline test module (`#[cfg(test)] mod tests { … }`, which by
/// custom ends a file).
fn production_code(text: &str) -> &str {
    let inline_tests = text.match_indices("#[cfg(test)]").find(|(at, _)| {
        let declared = text[at + "#[cfg(test)]".len()..].trim_start();
        declared.starts_with("mod ") && declared.split_once('{').is_some_and(|(head, _)| !head.contains(';'))
    });
    inline_tests.map_or(text, |(at, _)| &text[..at])
}

/// Names the crate root re-exports (`pub use state::{AppState, Settings};`), each with
/// the module it comes from.
fn reexports(root: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in root.lines().filter_map(|line| line.trim().strip_prefix("pub use ")) {
        let Some((module, items)) = line.trim_end_matches(';').split_once("::") else { continue };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            names.insert(item.trim().to_owned(), module.to_owned());
        }
    }
    names
}

/// The first segment of every path that starts with `prefix` (`crate::`), groups
/// (`crate::{a, b::c}`) included.
fn crate_paths(text: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => names.extend(group_items(group).into_iter().map(|item| leading_name(item).to_owned())),
            None => names.push(leading_name(rest).to_owned()),
        }
    }
    names.retain(|name| !name.is_empty() && name != "self");
    names
}

/// The items of a `{…}` group up to its closing brace, split at its own commas.
fn group_items(group: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0usize, 0, Vec::new());
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..at]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items
}

fn leading_name(path: &str) -> &str {
    let path = path.trim_start();
    let end = path.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(path.len());
    &path[..end]
}

/// The code of a source file: comments removed, and the insides of string and
/// character literals blanked, so that neither can name a path or hide one.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        let rest = &chars[at..];
        let after_ident = at > 0 && (chars[at - 1].is_alphanumeric() || chars[at - 1] == '_');
        if rest.starts_with(&['/', '/']) {
            at += rest.iter().position(|&c| c == '\n').unwrap_or(rest.len());
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            while at < chars.len() {
                if chars[at..].starts_with(&['/', '*']) {
                    depth += 1;
                    at += 2;
                } else if chars[at..].starts_with(&['*', '/']) {
                    depth -= 1;
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    at += 1;
                }
            }
        } else if rest[0] == 'r' && !after_ident && matches!(rest.get(1), Some('"' | '#')) {
            // A raw string: r"…", r#"…"#, … (not a name that ends in r).
            let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                code.push('r');
                at += 1;
                continue;
            }
            let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let body = at + 2 + hashes;
            let end = (body..chars.len()).find(|&i| chars[i..].starts_with(&closing)).unwrap_or(chars.len());
            code.push_str("\"\"");
            at = end + closing.len();
        } else if rest[0] == '"' {
            let mut end = at + 1;
            while end < chars.len() && chars[end] != '"' {
                end += if chars[end] == '\\' { 2 } else { 1 };
            }
            code.push_str("\"\"");
            at = end + 1;
        } else if rest[0] == '\'' && (rest.get(1) == Some(&'\\') || rest.get(2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{…}'), not a lifetime ('a).
            let end = (at + 2..chars.len()).find(|&i| chars[i] == '\'' && chars[i - 1] != '\\').unwrap_or(chars.len());
            code.push_str("' '");
            at = end + 1;
        } else {
            code.push(rest[0]);
            at += 1;
        }
    }
    code
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
