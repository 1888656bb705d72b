//! Charter's own layout: the tree as folders, each document `path.md` (a contract
//! `path.yaml` or `path.json`) where `path` is its and its parents' titles as slugs
//! (`documents::paths`), the documents under it in the folder `path/`; texts as they are.

use std::collections::HashMap;

use super::{extension, kind_of_file, stem, title_of, Doc};
use crate::exchange::archive::File;

pub(super) fn places(docs: &[Doc]) -> Vec<String> {
    super::paths(docs)
        .into_iter()
        .zip(docs)
        .map(|(path, doc)| format!("{path}{}", extension(doc.kind, &doc.content)))
        .collect()
}

/// Every Markdown file is a document, and every YAML or JSON file that is a contract:
/// under the one whose folder it is in, titled by its first heading or a contract's own
/// title (else its name).
pub(super) fn docs(files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    let (mut kept, mut skipped) = (Vec::new(), Vec::new());
    for file in files {
        let name = file.path.rsplit('/').next().unwrap_or(&file.path);
        match kind_of_file(name, &file.text) {
            Some(kind) => kept.push((file, kind)),
            None => skipped.push(file.path),
        }
    }
    let at: HashMap<String, usize> =
        kept.iter().enumerate().map(|(index, (file, _))| (stem(&file.path).to_owned(), index)).collect();
    let docs = kept
        .into_iter()
        .map(|(file, kind)| {
            let folder = stem(&file.path).rsplit_once('/').map(|(folder, _)| folder.to_owned());
            Doc {
                title: title_of(&file.path, &file.text, kind),
                kind,
                parent: folder.and_then(|folder| at.get(&folder).copied()),
                file: file.path,
                content: file.text,
            }
        })
        .collect();
    (docs, skipped)
}
