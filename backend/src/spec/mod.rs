//! Spec structure: what Charter reads out of Markdown documents (requirements with IDs,
//! acceptance scenarios, clarification markers, links, tasks), and what it does with
//! that: stable requirement identities with history, link resolution, clarifications,
//! the lint, constitution versioning and traceability reports.

pub mod clarifications;
pub mod constitution;
pub mod lint;
pub mod parse;
pub mod requirements;
pub mod review;
pub mod templates;
pub mod traceability;

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::api::{Json, Path, Query};
use crate::auth::Actor;
use crate::collab::DocKey;
use crate::documents::{BranchQuery, Kind};
use crate::error::Result;
use crate::markdown::LinkTarget;
use crate::projects::{self, Permission};
use crate::{branches, content, AppState};
use lint::Finding;
use parse::{Requirement, Structure};

/// A document with its structure.
#[derive(Clone, Debug)]
pub struct Doc {
    pub id: Uuid,
    pub title: String,
    pub kind: Kind,
    pub text: String,
    pub structure: Structure,
}

impl Doc {
    pub fn new(id: Uuid, title: String, kind: Kind, text: String) -> Doc {
        let structure = parse::parse(&text);
        Doc { id, title, kind, text, structure }
    }
}

/// What a `[[link]]` names.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Requirement(&'a Doc, &'a Requirement),
    Document(&'a Doc),
}

/// Where a corpus's document text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    /// The CRDT state: exact, one read per document. For what is stored or counted
    /// (requirement identities, questions, merge checks, API reports).
    Live,
    /// The Markdown projection: one query, trailing live edits by a moment. For what
    /// runs as people type (previews, inline lint), where their own document's text
    /// comes with the request.
    Projected,
}

/// Every live document of a branch, parsed: what links resolve against and the lint
/// runs over.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub docs: Vec<Doc>,
}

impl Corpus {
    pub fn new(docs: Vec<Doc>) -> Corpus {
        Corpus { docs }
    }

    /// The live documents of a branch, in tree order, with their text from `source`.
    pub async fn load(conn: &mut PgConnection, branch_id: Uuid, source: Text) -> Result<Corpus> {
        let rows: Vec<(Uuid, String, String, String)> = sqlx::query_as(
            "SELECT d.id, bd.title, d.kind, bd.content FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
             WHERE bd.branch_id = $1 AND bd.deleted_at IS NULL ORDER BY bd.position, lower(bd.title), d.id",
        )
        .bind(branch_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut docs = Vec::with_capacity(rows.len());
        for (id, title, kind, projected) in rows {
            let Ok(kind) = Kind::try_from(kind) else { continue };
            let text = match source {
                Text::Projected => projected,
                Text::Live => content::read(&mut *conn, DocKey { branch_id, document_id: id }).await?,
            };
            docs.push(Doc::new(id, title, kind, text));
        }
        Ok(Corpus::new(docs))
    }

    /// The same corpus with one document's text replaced (an editor's unsaved text).
    pub fn with_text(mut self, document_id: Uuid, text: String) -> Corpus {
        if let Some(doc) = self.docs.iter_mut().find(|doc| doc.id == document_id) {
            *doc = Doc::new(doc.id, std::mem::take(&mut doc.title), doc.kind, text);
        }
        self
    }

    pub fn doc(&self, id: Uuid) -> Option<&Doc> {
        self.docs.iter().find(|doc| doc.id == id)
    }

    pub fn constitution(&self) -> Option<&Doc> {
        self.docs.iter().find(|doc| doc.kind == Kind::Constitution)
    }

    /// The lint configuration the constitution sets (the defaults without one).
    pub fn config(&self) -> lint::Config {
        self.constitution()
            .map_or_else(lint::Config::default, |doc| lint::Config::from_settings(&doc.structure.settings))
    }

    /// Every place `key` is defined (requirements and principles), in corpus order.
    pub fn definitions(&self, key: &str) -> Option<Vec<(&Doc, &Requirement)>> {
        let found: Vec<_> = self
            .docs
            .iter()
            .flat_map(|doc| doc.structure.requirements.iter().map(move |r| (doc, r)))
            .filter(|(_, r)| r.key.eq_ignore_ascii_case(key))
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// The ID prefixes in use (`AUTH` for `AUTH-001`): an ID-shaped word with one of
    /// them is meant as a requirement, where `UTF-8` is not.
    pub fn prefixes(&self) -> HashSet<&str> {
        self.requirements().filter_map(|(_, r)| r.key.rsplit_once('-').map(|(prefix, _)| prefix)).collect()
    }

    /// Every requirement and principle with its document, first definitions only.
    pub fn requirements(&self) -> impl Iterator<Item = (&Doc, &Requirement)> {
        let mut seen = HashSet::new();
        self.docs
            .iter()
            .flat_map(|doc| doc.structure.requirements.iter().map(move |r| (doc, r)))
            .filter(move |(_, r)| seen.insert(r.key.to_uppercase()))
    }

    /// What `[[target]]` names: a requirement or principle by ID, else a document by
    /// title (case-insensitive).
    pub fn resolve(&self, target: &str) -> Option<Target<'_>> {
        let target = target.trim();
        if let Some((doc, requirement)) = self.definitions(target).and_then(|found| found.into_iter().next()) {
            return Some(Target::Requirement(doc, requirement));
        }
        let wanted = target.to_lowercase();
        self.docs.iter().find(|doc| doc.title.to_lowercase() == wanted).map(Target::Document)
    }

    /// Where each document is linked from or mentioned: `(from document, line)` for
    /// each key (uppercased) or document id.
    pub fn backlinks(&self) -> HashMap<String, Vec<(Uuid, usize)>> {
        let mut found: HashMap<String, Vec<(Uuid, usize)>> = HashMap::new();
        for doc in &self.docs {
            for link in &doc.structure.links {
                let key = match self.resolve(&link.target) {
                    Some(Target::Requirement(_, r)) => r.key.to_uppercase(),
                    Some(Target::Document(target)) => target.id.to_string(),
                    None => continue,
                };
                found.entry(key).or_default().push((doc.id, link.line));
            }
            let defined: HashSet<usize> = doc.structure.requirements.iter().map(|r| r.line).collect();
            for mention in &doc.structure.mentions {
                // Plain mentions count too (a task naming AUTH-001); a definition does not.
                if defined.contains(&mention.line) || doc.structure.links.iter().any(|l| l.line == mention.line) {
                    continue;
                }
                if self.definitions(&mention.key).is_some() {
                    found.entry(mention.key.to_uppercase()).or_default().push((doc.id, mention.line));
                }
            }
        }
        for places in found.values_mut() {
            places.dedup();
        }
        found
    }
}

/// `[[link]]` targets of a branch, for rendering: requirements and principles by ID,
/// documents by title (IDs win where the two would clash).
pub struct Links {
    targets: HashMap<String, LinkTarget>,
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    format!("{}…", text.chars().take(max - 1).collect::<String>().trim_end())
}

impl Links {
    pub fn new(corpus: &Corpus, slug: &str, branch: &str) -> Links {
        let query = if branch == branches::MAIN { String::new() } else { format!("?branch={branch}") };
        let mut targets = HashMap::new();
        for doc in &corpus.docs {
            let body: String = doc.text.lines().filter(|line| !line.starts_with('#')).collect::<Vec<_>>().join(" ");
            targets.insert(
                doc.title.to_lowercase(),
                LinkTarget {
                    href: format!("/p/{slug}/doc/{}{query}", doc.id),
                    title: format!("{} ({})", doc.title, doc.kind),
                    preview: shorten(&body, 240),
                },
            );
        }
        for (doc, requirement) in corpus.requirements() {
            // Principles live in the constitution; requirements have pages of their own.
            let href = if doc.kind == Kind::Constitution {
                format!("/p/{slug}/doc/{}{query}", doc.id)
            } else {
                format!("/p/{slug}/req/{}{query}", requirement.key)
            };
            targets.insert(
                requirement.key.to_lowercase(),
                LinkTarget {
                    href,
                    title: format!("{}: {} ({})", requirement.key, requirement.title, doc.title),
                    preview: shorten(&requirement.text, 240),
                },
            );
        }
        Links { targets }
    }

    /// The links of the branch a document is on, for a reader of it (rendering runs as
    /// people type: the other documents' projected text will do).
    pub async fn for_document(db: &sqlx::PgPool, actor: &Actor, document_id: Uuid, branch: &str) -> Result<Links> {
        let (project_id, _) = crate::documents::authorized_project(db, actor, document_id, Permission::Read).await?;
        let (_, corpus) = corpus(db, actor, project_id, branch, Text::Projected).await?;
        let (slug,): (String,) =
            sqlx::query_as("SELECT slug FROM projects WHERE id = $1").bind(project_id).fetch_one(db).await?;
        Ok(Links::new(&corpus, &slug, branch))
    }

    pub fn resolve(&self, target: &str) -> Option<LinkTarget> {
        self.targets.get(&target.trim().to_lowercase()).cloned()
    }
}

/// A place that links to a document or to one of its requirements.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Backlink {
    /// What is linked: the document's title or a requirement's ID.
    pub target: String,
    pub document_id: Uuid,
    pub title: String,
    pub kind: Kind,
    pub line: usize,
}

/// What links to a document, or to the requirements it defines, from other documents.
pub async fn document_backlinks(
    db: &sqlx::PgPool,
    actor: &Actor,
    document_id: Uuid,
    branch: &str,
) -> Result<Vec<Backlink>> {
    let (project_id, _) = crate::documents::authorized_project(db, actor, document_id, Permission::Read).await?;
    let (_, corpus) = corpus(db, actor, project_id, branch, Text::Live).await?;
    let Some(doc) = corpus.doc(document_id) else { return Ok(Vec::new()) };
    let mut all = corpus.backlinks();
    let targets = std::iter::once((doc.title.clone(), doc.id.to_string()))
        .chain(doc.structure.requirements.iter().map(|r| (r.key.clone(), r.key.to_uppercase())));
    let mut found = Vec::new();
    for (target, key) in targets {
        for (from, line) in all.remove(&key).unwrap_or_default() {
            let Some(source) = corpus.doc(from).filter(|source| source.id != document_id) else { continue };
            found.push(Backlink {
                target: target.clone(),
                document_id: from,
                title: source.title.clone(),
                kind: source.kind,
                line,
            });
        }
    }
    Ok(found)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct LintQuery {
    /// `main` when left out.
    pub branch: Option<String>,
}

/// A lint report: the findings, and the rules with the severities they ran at.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleSetting>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RuleSetting {
    pub id: String,
    pub summary: String,
    pub default: lint::Severity,
    /// `null` when the constitution turns the rule off.
    pub severity: Option<lint::Severity>,
}

/// Every rule with the severity the corpus's constitution gives it.
fn rule_settings(corpus: &Corpus) -> Vec<RuleSetting> {
    corpus
        .config()
        .rules()
        .into_iter()
        .map(|(rule, severity)| RuleSetting {
            id: rule.id.to_owned(),
            summary: rule.summary.to_owned(),
            default: rule.severity,
            severity,
        })
        .collect()
}

impl LintReport {
    fn new(corpus: &Corpus, findings: Vec<Finding>) -> LintReport {
        LintReport { findings, rules: rule_settings(corpus) }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LintText {
    /// The document's text as the editor has it now.
    pub content: String,
}

/// A branch's corpus for a reader of the project.
pub async fn corpus(
    db: &sqlx::PgPool,
    actor: &Actor,
    project_id: Uuid,
    branch: &str,
    source: Text,
) -> Result<(Uuid, Corpus)> {
    projects::authorize(db, actor, project_id, Permission::Read).await?;
    let branch_id = branches::resolve(db, project_id, branch).await?;
    let corpus = Corpus::load(&mut *db.acquire().await?, branch_id, source).await?;
    Ok((branch_id, corpus))
}

pub async fn project_lint(db: &sqlx::PgPool, actor: &Actor, project_id: Uuid, branch: &str) -> Result<LintReport> {
    let (_, corpus) = corpus(db, actor, project_id, branch, Text::Live).await?;
    let findings = lint::all(&corpus);
    Ok(LintReport::new(&corpus, findings))
}

/// A document's findings; with `text`, for that text instead of the stored one (the
/// editor lints what is on screen, against the rest of the project as stored).
pub async fn document_lint(
    db: &sqlx::PgPool,
    actor: &Actor,
    document_id: Uuid,
    branch: &str,
    text: Option<String>,
) -> Result<LintReport> {
    if let Some(text) = &text {
        content::validate(text)?;
    }
    let (project_id, _) = crate::documents::authorized_project(db, actor, document_id, Permission::Read).await?;
    // The editor lints on every pause in typing: with its text, the rest as projected.
    let source = if text.is_some() { Text::Projected } else { Text::Live };
    let (_, mut corpus) = corpus(db, actor, project_id, branch, source).await?;
    if let Some(text) = text {
        corpus = corpus.with_text(document_id, text);
    }
    let findings = corpus.doc(document_id).map(|doc| lint::document(&corpus, doc)).ok_or_else(|| {
        crate::error::Error::Conflict("this document is deleted on this branch; restore it to check it".into())
    })?;
    Ok(LintReport::new(&corpus, findings))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project_lint_handler))
        .routes(routes!(rules_handler))
        .routes(routes!(document_lint_handler, document_lint_text_handler))
        .routes(routes!(backlinks_handler))
        .merge(requirements::router())
        .merge(clarifications::router())
        .merge(templates::router())
        .merge(traceability::router())
}

/// What links to a document, or to the requirements it defines.
#[utoipa::path(get, path = "/documents/{id}/backlinks", tag = "specs", params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Vec<Backlink>), (status = 404, body = crate::error::ErrorBody)))]
async fn backlinks_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Vec<Backlink>>> {
    Ok(Json(document_backlinks(&state.db, &actor, id, branch.name()).await?))
}

/// Lint every document of a branch: the findings, document by document.
#[utoipa::path(get, path = "/projects/{id}/lint", tag = "specs", params(("id" = Uuid, Path), LintQuery),
    responses((status = 200, body = Vec<Finding>), (status = 404, body = crate::error::ErrorBody)))]
async fn project_lint_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(query): Query<LintQuery>,
) -> Result<Json<Vec<Finding>>> {
    let branch = query.branch.as_deref().unwrap_or(branches::MAIN);
    Ok(Json(project_lint(&state.db, &actor, id, branch).await?.findings))
}

/// The lint rules, and the severity each runs at on the branch (its constitution's
/// "Checks" heading decides).
#[utoipa::path(get, path = "/projects/{id}/lint/rules", tag = "specs", params(("id" = Uuid, Path), LintQuery),
    responses((status = 200, body = Vec<RuleSetting>), (status = 404, body = crate::error::ErrorBody)))]
async fn rules_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(query): Query<LintQuery>,
) -> Result<Json<Vec<RuleSetting>>> {
    let branch = query.branch.as_deref().unwrap_or(branches::MAIN);
    let (_, corpus) = corpus(&state.db, &actor, id, branch, Text::Projected).await?;
    Ok(Json(rule_settings(&corpus)))
}

/// Lint one document as stored.
#[utoipa::path(get, path = "/documents/{id}/lint", tag = "specs", params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Vec<Finding>), (status = 404, body = crate::error::ErrorBody)))]
async fn document_lint_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Vec<Finding>>> {
    Ok(Json(document_lint(&state.db, &actor, id, branch.name(), None).await?.findings))
}

/// Lint a document's unsaved text against the rest of the project (what the editor
/// shows inline as you type).
#[utoipa::path(post, path = "/documents/{id}/lint", tag = "specs", params(("id" = Uuid, Path), BranchQuery),
    request_body = LintText,
    responses((status = 200, body = Vec<Finding>), (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn document_lint_text_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(branch): Query<BranchQuery>,
    Json(body): Json<LintText>,
) -> Result<Json<Vec<Finding>>> {
    Ok(Json(document_lint(&state.db, &actor, id, branch.name(), Some(body.content)).await?.findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_requirement_pages_documents_and_principles() {
        let corpus = Corpus::new(vec![
            Doc::new(
                Uuid::from_u128(1),
                "Constitution".into(),
                Kind::Constitution,
                "### P-01: Specs first\n\nRule.\n".into(),
            ),
            Doc::new(
                Uuid::from_u128(2),
                "Login".into(),
                Kind::Spec,
                "# Login\n\n- **AUTH-001** The system SHALL lock accounts.\n".into(),
            ),
        ]);
        let on_main = Links::new(&corpus, "pay", "main");
        let requirement = on_main.resolve("auth-001").unwrap();
        assert_eq!(requirement.href, "/p/pay/req/AUTH-001");
        assert_eq!(requirement.title, "AUTH-001: The system SHALL lock accounts. (Login)");
        assert_eq!(requirement.preview, "The system SHALL lock accounts.");
        let document = on_main.resolve(" login ").unwrap();
        assert_eq!(document.href, format!("/p/pay/doc/{}", Uuid::from_u128(2)));
        assert_eq!(document.preview, "- **AUTH-001** The system SHALL lock accounts.");
        let on_draft = Links::new(&corpus, "pay", "draft");
        assert_eq!(on_draft.resolve("P-01").unwrap().href, format!("/p/pay/doc/{}?branch=draft", Uuid::from_u128(1)));
        assert!(on_main.resolve("Nowhere").is_none());
    }
}
