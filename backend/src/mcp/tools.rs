//! The tools an agent calls: each reads its arguments, finds the caller's access to the
//! project they name, and calls the service the API's route for the same thing calls.

use std::sync::Arc;

use axum::http::header::HOST;
use axum::http::request::Parts;
use charter_types::{DocumentId, Kind, Permission, Scope, SearchMode, TreeEntry};
use rmcp::handler::server::common::schema_for_input;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, JsonObject};
use rmcp::{tool, tool_router, ErrorData};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::resources::{addressed, tree};
use super::{answer, caller_of, Charter};
use crate::access::Actor;
use crate::authorization::ProjectAccess;
use crate::documents::{self, paths::Paths};
use crate::error::{Error, Result};
use crate::proposals::{self, Edit, Proposal, RequirementChange, MAX_EDITS};
use crate::search::{self, provider, SearchQuery};
use crate::structure::clarifications::{self, ClarificationQuery, NewAnswer};
use crate::structure::parse::parse;
use crate::structure::requirements::{self, RequirementQuery};
use crate::{branches, change_requests, checks, projects};

#[derive(Deserialize, JsonSchema)]
pub struct InProject {
    /// The project's slug or id (list_projects gives both).
    project: String,
    /// The branch to read; `main` when left out.
    branch: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct DocumentRef {
    /// The project's slug or id.
    project: String,
    /// The document's path (from list_documents, e.g. `constitution/checkout`) or its id.
    document: String,
    /// The branch to read; `main` when left out.
    branch: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// The project's slug or id.
    project: String,
    /// What to look for: words, a question, or a requirement ID.
    query: String,
    /// `main` when left out.
    branch: Option<String>,
    /// `hybrid` (words and meaning, the default), `text` or `meaning`.
    #[schemars(with = "Option<String>")]
    mode: Option<SearchMode>,
    /// Only documents of this kind: `constitution`, `spec`, `plan` or `tasks`.
    #[schemars(with = "Option<String>")]
    kind: Option<Kind>,
    /// How many hits at most, 1 to 50 (20 when left out).
    limit: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
pub struct RequirementRef {
    /// The project's slug or id.
    project: String,
    /// The requirement's ID as written (`PAY-001`), or its stable identity (a UUID).
    requirement: String,
    /// `main` when left out.
    branch: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct QuestionsArgs {
    /// The project's slug or id.
    project: String,
    /// `main` when left out.
    branch: Option<String>,
    /// Only this document's questions: its path or id.
    document: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct AnswerArgs {
    /// The question's id, from list_open_questions.
    question: Uuid,
    /// The answer, written into the document where the marker was.
    answer: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct LintArgs {
    /// The project's slug or id.
    project: String,
    /// The document to check: its path or id.
    document: String,
    /// `main` when left out.
    branch: Option<String>,
    /// Text to check in the document's place (unsaved work; needs a write token, as the
    /// API's); the stored text when left out.
    text: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct ProposeArgs {
    /// The project's slug or id.
    project: String,
    /// The change request's title, 1 to 200 characters.
    title: String,
    /// Why: what the reviewers should know.
    description: Option<String>,
    /// The branch the change would merge into; `main` when left out.
    target: Option<String>,
    /// The edits, applied in order.
    edits: Vec<EditArgs>,
}

/// One edit. Documents are named by path or id; requirement blocks are Markdown in the
/// spec's form: `- **KEY** The system SHALL …` with its scenarios as a sub-list, or
/// `### KEY: Title` followed by its text and scenarios.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EditArgs {
    /// Replace a document's whole Markdown.
    ReplaceDocument { document: String, content: String },
    /// Add requirement `key` at the end of a spec's requirements.
    AddRequirement { document: String, key: String, block: String },
    /// Replace requirement `key`'s whole block (text and scenarios).
    ReplaceRequirement { key: String, block: String },
    /// Remove requirement `key` and its scenarios.
    RemoveRequirement { key: String },
}

#[derive(Deserialize, JsonSchema)]
pub struct ChangeRequestRef {
    /// The project's slug or id.
    project: String,
    /// The change request's number.
    number: i32,
}

#[tool_router(vis = "pub(super)")]
impl Charter {
    #[tool(
        description = "List the projects you belong to, with their slugs and your role.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_projects(&self, Extension(parts): Extension<Parts>) -> Result<CallToolResult, ErrorData> {
        answer(
            async { projects::list(&self.state.db, &caller_of(&parts)?).await }
                .await
                .map(|projects| json!({ "projects": projects })),
        )
    }

    #[tool(description = "List a project's documents in tree order, each with its path, kind and charter:// address.",
           input_schema = schema::<InProject>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_documents(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: InProject = arguments(args)?;
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let slug = projects::get(&self.state.db, &access).await?.slug;
                let tree = tree(&self.state, &access, &branch).await?;
                let listed: Vec<serde_json::Value> = addressed(&slug, &tree, &branch)
                    .map(|(entry, path, uri)| {
                        json!({ "id": entry.id, "title": entry.title, "kind": entry.kind, "parent_id": entry.parent_id,
                            "path": path, "uri": uri })
                    })
                    .collect();
                Ok(json!({ "branch": branch, "documents": listed }))
            }
            .await,
        )
    }

    #[tool(description = "Read one document's Markdown, by its path or id.",
           input_schema = schema::<DocumentRef>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_document(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: DocumentRef = arguments(args)?;
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let tree = tree(&self.state, &access, &branch).await?;
                let id = named(&Paths::of(&tree), &args.document)?;
                self.document(&access, &tree, id, &branch).await
            }
            .await,
        )
    }

    #[tool(description = "Read the project's constitution: the principles every change must keep, with its version and dates.",
           input_schema = schema::<InProject>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_constitution(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: InProject = arguments(args)?;
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let tree = tree(&self.state, &access, &branch).await?;
                let constitution = tree.iter().find(|entry| entry.kind == Kind::Constitution);
                let id = constitution.ok_or_else(|| Error::NotFound("this project has no constitution".into()))?.id;
                let mut document = self.document(&access, &tree, id, &branch).await?;
                let metadata = parse(document["markdown"].as_str().unwrap_or_default()).metadata;
                document["version"] = json!(metadata.version);
                document["ratified"] = json!(metadata.ratified);
                document["last_amended"] = json!(metadata.amended);
                Ok(document)
            }
            .await,
        )
    }

    #[tool(description = "Search a project's requirements and sections by words and by meaning; an exact requirement ID comes first.",
           input_schema = schema::<SearchArgs>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn search(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: SearchArgs = arguments(args)?;
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let meaning = provider::meaning(&self.state.db, &self.state.embeddings, access.project()).await?;
                let query = SearchQuery {
                    q: args.query,
                    branch: Some(branch),
                    kind: args.kind,
                    under: None,
                    mode: args.mode,
                    limit: args.limit,
                };
                search::search(&self.state.db, &meaning, &access, &query).await
            }
            .await,
        )
    }

    #[tool(description = "Read a requirement: its text, scenarios, priority, coverage by tasks and code, links, and history.",
           input_schema = schema::<RequirementRef>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_requirement(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: RequirementRef = arguments(args)?;
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let db = &self.state.db;
                let wanted = args.requirement.trim();
                let missing = || Error::NotFound(format!("no requirement {wanted} on `{branch}`"));
                let id = match wanted.parse::<Uuid>() {
                    // An identity of this project, not of another one the caller is in.
                    Ok(id) => match requirements::authorize_reader(db, access.actor(), id).await {
                        Ok(found) if found.project() == access.project() => id,
                        Ok(_) | Err(Error::NotFound(_)) => return Err(missing()),
                        Err(err) => return Err(err),
                    },
                    Err(_) => {
                        let query = RequirementQuery { branch: Some(branch.clone()), q: Some(wanted.to_owned()) };
                        let found = requirements::list(db, &access, query).await?;
                        let exact = found.into_iter().find(|requirement| requirement.key.eq_ignore_ascii_case(wanted));
                        exact.ok_or_else(missing)?.id
                    }
                };
                requirements::get(db, access.actor(), id, Some(&branch)).await
            }
            .await,
        )
    }

    #[tool(description = "List the open questions ([NEEDS CLARIFICATION: …] markers) of a project or one document.",
           input_schema = schema::<QuestionsArgs>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_open_questions(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: QuestionsArgs = arguments(args)?;
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let document = match &args.document {
                    Some(document) => Some(named(&Paths::of(&tree(&self.state, &access, &branch).await?), document)?),
                    None => None,
                };
                let query = ClarificationQuery { state: Some("open".into()), branch: Some(branch), document };
                let questions = clarifications::list(&self.state.db, &access, query).await?;
                Ok(json!({ "questions": questions }))
            }
            .await,
        )
    }

    #[tool(description = "Answer an open question: the answer replaces its marker in the document, where you may \
                          edit it (needs a write token).",
           input_schema = schema::<AnswerArgs>(),
           annotations(read_only_hint = false, destructive_hint = false, open_world_hint = false))]
    async fn answer_question(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: AnswerArgs = arguments(args)?;
                let actor = writer(&parts)?;
                clarifications::answer(&self.state, &actor, args.question, NewAnswer { answer: args.answer }).await
            }
            .await,
        )
    }

    #[tool(description = "Check a document (or text in its place) with the project's lint: findings with rule, line and column.",
           input_schema = schema::<LintArgs>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn lint(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: LintArgs = arguments(args)?;
                if args.text.is_some() {
                    writer(&parts)?;
                }
                let (access, branch) = self.reader(&parts, &args.project, args.branch).await?;
                let id = named(&Paths::of(&tree(&self.state, &access, &branch).await?), &args.document)?;
                let meaning = provider::meaning(&self.state.db, &self.state.embeddings, access.project()).await?;
                checks::document_lint(&self.state.db, &meaning, &access, id, &branch, args.text).await
            }
            .await,
        )
    }

    #[tool(description = "Propose edits (whole documents, or requirements added, replaced or removed by ID) as a new \
                          branch and an open change request for people to review; returns its number and address. \
                          Needs a write token; never changes the target branch itself.",
           input_schema = schema::<ProposeArgs>(),
           annotations(read_only_hint = false, destructive_hint = false, open_world_hint = false))]
    async fn propose_change(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(async { self.propose(&parts, arguments(args)?).await }.await)
    }

    #[tool(description = "Read a change request: its state, what it changes, reviews, approvals, conflicts and checks.",
           input_schema = schema::<ChangeRequestRef>(), annotations(read_only_hint = true, open_world_hint = false))]
    async fn get_change_request(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let args: ChangeRequestRef = arguments(args)?;
                let (access, _) = self.reader(&parts, &args.project, None).await?;
                change_requests::get(&self.state.db, &access, args.number).await
            }
            .await,
        )
    }
}

impl Charter {
    /// The caller's read access to `project`, and the branch asked for.
    async fn reader(&self, parts: &Parts, project: &str, branch: Option<String>) -> Result<(ProjectAccess, String)> {
        let access = self.project(&caller_of(parts)?, project, Permission::Read).await?;
        Ok((access, branch.unwrap_or_else(|| branches::MAIN.to_owned())))
    }

    async fn document(
        &self,
        access: &ProjectAccess,
        tree: &[TreeEntry],
        id: DocumentId,
        branch: &str,
    ) -> Result<serde_json::Value> {
        let slug = projects::get(&self.state.db, access).await?.slug;
        let document = documents::get(&self.state, access, id, branch).await?;
        let found = addressed(&slug, tree, branch).find(|(entry, ..)| entry.id == id);
        let (path, uri) = found.map(|(_, path, uri)| (path, uri)).unwrap_or_default();
        Ok(json!({
            "id": document.id, "title": document.title, "kind": document.kind, "branch": branch,
            "path": path, "uri": uri, "protected": document.protected, "markdown": document.content,
        }))
    }

    async fn propose(&self, parts: &Parts, args: ProposeArgs) -> Result<serde_json::Value> {
        let actor = writer(parts)?;
        if args.edits.is_empty() || args.edits.len() > MAX_EDITS {
            return Err(Error::Invalid(format!("a proposal carries 1 to {MAX_EDITS} edits")));
        }
        let access = self.project(&actor, &args.project, Permission::Write).await?;
        let target = args.target.unwrap_or_else(|| branches::MAIN.to_owned());
        let paths = Paths::of(&tree(&self.state, &access, &target).await?);
        let mut edits = Vec::with_capacity(args.edits.len());
        for edit in args.edits {
            edits.push(match edit {
                EditArgs::ReplaceDocument { document, content } => {
                    Edit::Text { document: named(&paths, &document)?, content }
                }
                EditArgs::AddRequirement { document, key, block } => Edit::Requirement {
                    key,
                    change: RequirementChange::Add { document: named(&paths, &document)?, block },
                },
                EditArgs::ReplaceRequirement { key, block } => {
                    Edit::Requirement { key, change: RequirementChange::Replace { block } }
                }
                EditArgs::RemoveRequirement { key } => Edit::Requirement { key, change: RequirementChange::Remove },
            });
        }
        let proposal = Proposal { target, title: args.title, description: args.description, edits };
        let proposed = proposals::propose(&self.state, &access, proposal).await?;
        let slug = projects::get(&self.state.db, &access).await?.slug;
        let page = change_requests::page(&slug, proposed.number);
        Ok(json!({
            "number": proposed.number, "branch": proposed.branch, "documents": proposed.documents,
            "url": format!("{}{page}", self.origin(parts)),
        }))
    }

    /// The site's address as people reach it: the configured public origin, else the
    /// address this request was sent to.
    fn origin(&self, parts: &Parts) -> String {
        match &self.state.settings.public_origin {
            Some(origin) => origin.trim_end_matches('/').to_owned(),
            None => {
                let host = parts.headers.get(HOST).and_then(|host| host.to_str().ok()).unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }
}

/// A tool's input schema, made from the type its arguments are read into.
fn schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    schema_for_input::<T>().unwrap_or_else(|why| panic!("the input schema of {}: {why}", std::any::type_name::<T>()))
}

/// A tool's arguments: read here rather than by rmcp, so that arguments an agent got
/// wrong come back as a tool's refusal it can read and correct, not a protocol error.
fn arguments<T: DeserializeOwned>(arguments: JsonObject) -> Result<T> {
    serde_json::from_value(serde_json::Value::Object(arguments))
        .map_err(|why| Error::Invalid(format!("the arguments do not fit this tool's input schema: {why}")))
}

/// The caller, if their token may write.
fn writer(parts: &Parts) -> Result<Actor> {
    let actor = caller_of(parts)?;
    actor.require_scope(Scope::Write)?;
    Ok(actor)
}

/// The document that `reference` (a path or an id) names among `paths`.
fn named(paths: &Paths, reference: &str) -> Result<DocumentId> {
    let reference = reference.trim();
    let by_id = reference.parse::<DocumentId>().ok().filter(|id| paths.path(*id).is_some());
    by_id
        .or_else(|| paths.find(reference))
        .ok_or_else(|| Error::NotFound(format!("no document `{reference}` on this branch (list_documents lists them)")))
}
