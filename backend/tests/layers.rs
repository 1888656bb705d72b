//! The backend's modules stand in layers: a module uses modules of its own layer or
//! below, never one above, and modules of one layer use each other without circles.
//! Read from the `crate::…` paths of the source, so that anyone can check it with
//! `cargo test -p charter-backend --test layers`.
//!
//! Layers, lowest first. Modules not placed yet are listed in `UNPLACED` with what
//! ties them: the list may only shrink (a module leaves it once it has a layer).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

const LAYERS: &[(&str, &[&str])] = &[
    // What everything may use: errors, budgets, the text merge, held access.
    ("model", &["error", "budget", "merge", "access"]),
    // Document state and its real-time engine.
    ("content and collab engine", &["collab", "content"]),
    // Reading requests: JSON, path and query values.
    ("request extractors", &["extract"]),
];

/// Services and HTTP modules still tied to each other in circles (issue 10).
const UNPLACED: &[&str] = &[
    "accounts",
    "api",
    "audit",
    "auth",
    "branches",
    "change_requests",
    "documents",
    "history",
    "markdown",
    "projects",
    "security",
    "state",
    "structure",
    "tokens",
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
    let known: BTreeSet<&str> = layer_of.keys().copied().chain(UNPLACED.iter().copied()).collect();
    let found: BTreeSet<&str> = uses.keys().map(String::as_str).collect();
    assert_eq!(found, known, "every module is placed in a layer or listed as unplaced, and no other");

    let mut upward = Vec::new();
    for (module, used) in &uses {
        let Some(&level) = layer_of.get(module.as_str()) else { continue };
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
    println!(
        "{} modules in {} layers, {} unplaced; {arrows} arrows between modules",
        layer_of.len(),
        LAYERS.len(),
        UNPLACED.len()
    );
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

/// For each top-level module of the crate rooted at `src`, the other modules it uses,
/// each with the first file that does.
fn module_uses(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let root = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let reexports = reexports(&root);
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let module = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let entry = uses.entry(module.clone()).or_default();
        let text = without_comments(&fs::read_to_string(&file).unwrap());
        for name in crate_paths(&text) {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target != module {
                entry.entry(target).or_insert_with(|| relative.display().to_string());
            }
        }
    }
    uses
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

/// The first segment of every `crate::` path, groups (`crate::{a, b::c}`) included.
fn crate_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
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

/// The text with line comments (doc comments included) removed; they may name paths.
fn without_comments(text: &str) -> String {
    text.lines().map(|line| line.split_once("//").map_or(line, |(code, _)| code)).collect::<Vec<_>>().join("\n")
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
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
