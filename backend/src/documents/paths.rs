//! Where each document of a tree lives as a path: its ancestors' and its own titles as
//! slugs (`specs/checkout`), in the tree's order. The second of two siblings whose
//! titles make the same slug is `checkout~2` (a slug never holds `~`, so no title can
//! take its place); which one is second follows the tree's order, so an id is the
//! lasting name. Agents read documents by these paths (`charter://{project}/{path}`).

use std::collections::HashMap;

use charter_types::{DocumentId, TreeEntry};

use crate::markdown;

/// Every document's path, and the document at each path.
pub struct Paths {
    ordered: Vec<(DocumentId, String)>,
    by_path: HashMap<String, DocumentId>,
}

impl Paths {
    /// The paths of `tree` (depth first, parents before children, as listed).
    pub fn of(tree: &[TreeEntry]) -> Paths {
        let mut ordered: Vec<(DocumentId, String)> = Vec::with_capacity(tree.len());
        let mut by_path: HashMap<String, DocumentId> = HashMap::with_capacity(tree.len());
        let mut by_id: HashMap<DocumentId, usize> = HashMap::with_capacity(tree.len());
        for entry in tree {
            let parent = entry.parent_id.and_then(|parent| by_id.get(&parent)).map(|&at| ordered[at].1.as_str());
            let base = match parent {
                Some(parent) => format!("{parent}/{}", segment(&entry.title)),
                None => segment(&entry.title),
            };
            let path = (1..)
                .map(|n| if n == 1 { base.clone() } else { format!("{base}~{n}") })
                .find(|path| !by_path.contains_key(path))
                .expect("an unused path");
            by_path.insert(path.clone(), entry.id);
            by_id.insert(entry.id, ordered.len());
            ordered.push((entry.id, path));
        }
        Paths { ordered, by_path }
    }

    /// Each document with its path, in the tree's order.
    pub fn iter(&self) -> impl Iterator<Item = (DocumentId, &str)> {
        self.ordered.iter().map(|(id, path)| (*id, path.as_str()))
    }

    /// The document at `path`, if one is there.
    pub fn find(&self, path: &str) -> Option<DocumentId> {
        self.by_path.get(path.trim_matches('/')).copied()
    }

    /// The path of `document`, if it is in the tree.
    pub fn path(&self, document: DocumentId) -> Option<&str> {
        self.iter().find(|(id, _)| *id == document).map(|(_, path)| path)
    }
}

fn segment(title: &str) -> String {
    markdown::slugify(title, char::is_alphanumeric, 80).unwrap_or_else(|| "untitled".to_owned())
}

#[cfg(test)]
mod tests {
    use charter_types::{DocumentId, Kind, TreeEntry};

    use super::Paths;

    fn entry(title: &str, parent: Option<DocumentId>) -> TreeEntry {
        TreeEntry {
            id: DocumentId::from_uuid(uuid::Uuid::new_v4()),
            title: title.into(),
            kind: Kind::Spec,
            parent_id: parent,
            position: 0,
            deleted_at: None,
        }
    }

    #[test]
    fn paths_follow_the_tree_and_keep_alike_siblings_apart() {
        let root = entry("Constitution", None);
        let spec = entry("Checkout & Payments", Some(root.id));
        let twin = entry("checkout payments", Some(root.id));
        let third = entry("Checkout Payments 2", Some(root.id));
        let plan = entry("Plan", Some(spec.id));
        let odd = entry("!!!", None);
        let tree = vec![root.clone(), spec.clone(), plan.clone(), twin.clone(), third.clone(), odd.clone()];
        let paths = Paths::of(&tree);
        let listed: Vec<&str> = paths.iter().map(|(_, path)| path).collect();
        assert_eq!(
            listed,
            [
                "constitution",
                "constitution/checkout-payments",
                "constitution/checkout-payments/plan",
                "constitution/checkout-payments~2",
                "constitution/checkout-payments-2",
                "untitled"
            ]
        );
        assert_eq!(paths.find("/constitution/checkout-payments/plan"), Some(plan.id));
        assert_eq!(paths.find("constitution/checkout-payments~2"), Some(twin.id));
        assert_eq!(paths.find("constitution/checkout-payments-2"), Some(third.id), "a title's own digits");
        assert_eq!(paths.find("constitution/nothing"), None);
        assert_eq!(paths.path(plan.id), Some("constitution/checkout-payments/plan"));
    }
}
