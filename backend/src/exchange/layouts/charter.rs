//! Charter's own layout: the tree as folders, each document `path.md` where `path` is
//! its and its parents' titles as slugs (`documents::paths`), the documents under it in
//! the folder `path/`; texts as they are.

use std::collections::HashMap;

use super::{first_heading, guess_kind, humanize, Doc};
use crate::exchange::archive::File;

pub(super) fn places(docs: &[Doc]) -> Vec<String> {
    super::paths(docs).into_iter().map(|path| format!("{path}.md")).collect()
}

/// Every Markdown file is a document: under the one whose folder it is in, titled by its
/// first heading (else its name).
pub(super) fn docs(files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    let at: HashMap<String, usize> =
        files.iter().enumerate().map(|(index, file)| (file.path.trim_end_matches(".md").to_owned(), index)).collect();
    let docs = files
        .iter()
        .map(|file| {
            let stem = file.path.trim_end_matches(".md");
            let (folder, name) = stem.rsplit_once('/').map_or((None, stem), |(folder, name)| (Some(folder), name));
            Doc {
                file: file.path.clone(),
                title: first_heading(&file.text).unwrap_or_else(|| humanize(name)),
                kind: guess_kind(name),
                parent: folder.and_then(|folder| at.get(folder).copied()),
                content: file.text.clone(),
            }
        })
        .collect();
    (docs, Vec::new())
}
