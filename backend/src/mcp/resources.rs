//! Every document the caller can read, as a resource: `charter://{project-slug}/{path}`
//! (the path of `documents::paths`), Markdown as it is on `main`, or on another branch
//! with `?branch=`.

use charter_types::{Kind, Permission, TreeEntry};
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};

use crate::access::Actor;
use crate::authorization::{self, ProjectAccess};
use crate::documents::paths::Paths;
use crate::documents::{self, TreeQuery};
use crate::error::{Error, Result};
use crate::{branches, projects, AppState};

const SCHEME: &str = "charter://";
const MARKDOWN: &str = "text/markdown";

/// A document's address. Paths are slugs, whose letters may be any script's.
fn uri(slug: &str, path: &str, branch: &str) -> String {
    let path = percent_encoding::utf8_percent_encode(path, percent_encoding::CONTROLS);
    match branch {
        branches::MAIN => format!("{SCHEME}{slug}/{path}"),
        branch => {
            let query: String =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("branch", branch).finish();
            format!("{SCHEME}{slug}/{path}?{query}")
        }
    }
}

/// A branch's documents in tree order, each with its path and its address.
pub(super) fn addressed<'a>(
    slug: &str,
    tree: &'a [TreeEntry],
    branch: &str,
) -> impl Iterator<Item = (&'a TreeEntry, String, String)> + use<'a> {
    let paths = Paths::of(tree);
    let addressed: Vec<(String, String)> =
        paths.iter().map(|(_, path)| (path.to_owned(), uri(slug, path, branch))).collect();
    tree.iter().zip(addressed).map(|(entry, (path, address))| (entry, path, address))
}

/// The documents of `main` in every project the caller belongs to.
pub(super) async fn list(state: &AppState, actor: &Actor) -> Result<ListResourcesResult> {
    let mut resources = Vec::new();
    for project in projects::list(&state.db, actor).await? {
        let access = authorization::authorize(&state.db, actor, project.id, Permission::Read).await?;
        let tree = tree(state, &access, branches::MAIN).await?;
        for (entry, path, address) in addressed(&project.slug, &tree, branches::MAIN) {
            let about = format!("The {} “{}” of project {}", entry.kind.as_str(), entry.title, project.name);
            // A contract is YAML or JSON (of which YAML is the larger part).
            let mime = if entry.kind == Kind::Contract { "application/yaml" } else { MARKDOWN };
            resources.push(
                Resource::new(address, path).with_title(&entry.title).with_description(about).with_mime_type(mime),
            );
        }
    }
    Ok(ListResourcesResult::with_all_items(resources))
}

pub(super) fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![ResourceTemplate::new(
        format!("{SCHEME}{{project}}/{{+path}}{{?branch}}"),
        "document",
    )
    .with_title("A document of a project")
    .with_description(
        "A document's Markdown: project is the project's slug, path the document's path in its tree \
         (list_documents gives it), branch `main` when left out",
    )
    .with_mime_type(MARKDOWN)])
}

/// The document `uri` names, if the caller may read it.
pub(super) async fn read(state: &AppState, actor: &Actor, uri: &str) -> Result<ReadResourceResult> {
    let parsed = url::Url::parse(uri).map_err(|_| Error::NotFound(format!("{uri} is not a Charter address")))?;
    let slug = parsed.host_str().filter(|_| parsed.scheme() == "charter");
    let slug = slug.ok_or_else(|| Error::NotFound(format!("{uri} is not a Charter address ({SCHEME}project/path)")))?;
    let branch = parsed.query_pairs().find(|(name, _)| name == "branch").map(|(_, value)| value.into_owned());
    let branch = branch.as_deref().unwrap_or(branches::MAIN);
    let path = percent_encoding::percent_decode_str(parsed.path()).decode_utf8_lossy();
    let access = authorization::authorize_slug(&state.db, actor, slug, Permission::Read).await?;
    let tree = tree(state, &access, branch).await?;
    let id = Paths::of(&tree).find(&path).ok_or_else(|| Error::NotFound(format!("no document at {uri}")))?;
    let document = documents::get(state, &access, id, branch).await?;
    let (mime, _) = documents::raw::content_type(document.kind, &document.content);
    let mime = mime.split(';').next().unwrap_or(mime);
    Ok(ReadResourceResult::new(vec![ResourceContents::text(document.content, uri).with_mime_type(mime)]))
}

pub(super) async fn tree(state: &AppState, access: &ProjectAccess, branch: &str) -> Result<Vec<TreeEntry>> {
    documents::tree(&state.db, access, TreeQuery { deleted: false, branch: Some(branch.to_owned()) }).await
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn addresses_encode_letters_of_any_script_and_name_other_branches() {
        assert_eq!(uri("shop", "constitution/checkout", "main"), "charter://shop/constitution/checkout");
        assert_eq!(uri("shop", "spécs/paiement", "main"), "charter://shop/sp%C3%A9cs/paiement");
        assert_eq!(uri("shop", "checkout", "push-specs/2"), "charter://shop/checkout?branch=push-specs%2F2");
    }
}
