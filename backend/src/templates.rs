//! Starting points for new documents, one per kind, written so that Charter can read
//! them: requirement IDs in the accepted forms, scenarios, success criteria, markers.

use charter_types::{ContractFormat, Kind};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Project};
use crate::error::Result;
use crate::extract::Json;
use crate::AppState;

/// How requirements are written; shown beside the templates.
pub const HELP: &str = "Write each requirement with an ID of letters, a dash and digits (`AUTH-001`), \
in any of these forms, all always accepted:\n\n\
1. A list item: `- **AUTH-001** The system SHALL lock an account after 5 failed logins.` Its indented \
sub-list holds its acceptance scenarios (`  - Given …, When …, Then …`).\n\
2. A heading: `### AUTH-001: Account lockout`, followed by its text and a list of its scenarios.\n\
3. OpenSpec's heading `### Requirement: Account lockout` or Kiro's `### Requirement 1: Account lockout`, \
with the ID in a comment below it (`<!-- id: AUTH-001 -->`, which importing adds), its text, and its \
scenarios as `#### Scenario: name` headings or a numbered list of acceptance criteria.\n\n\
IDs are unique in a project. Mark a priority with `(P1)`–`(P3)` on the requirement or on the heading \
above it. Link with `[[AUTH-001]]` or `[[Spec title]]`. Write `[NEEDS CLARIFICATION: question]` \
where intent is unclear; answered questions are recorded under `## Clarifications`.";

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Template {
    pub kind: Kind,
    /// What a contract's template is written in (none for Markdown documents).
    pub format: Option<ContractFormat>,
    pub name: &'static str,
    pub description: &'static str,
    /// Markdown, or a contract's YAML or JSON; `{{title}}`, `[[{{parent}}]]` and
    /// `{{today}}` are filled in on creation.
    pub content: &'static str,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Templates {
    pub templates: Vec<Template>,
    /// How requirements are written (Markdown).
    pub help: &'static str,
}

pub const TEMPLATES: [Template; 6] = [
    Template {
        kind: Kind::Spec,
        format: None,
        name: "Feature spec",
        description: "Summary, prioritised user stories, requirements with acceptance scenarios, \
                      measurable success criteria, edge cases, key entities and open questions.",
        content: include_str!("templates/spec.md"),
    },
    Template {
        kind: Kind::Plan,
        format: None,
        name: "Plan",
        description: "Technical context, the constitution check, and decisions with their rationale \
                      linked to the requirements they implement.",
        content: include_str!("templates/plan.md"),
    },
    Template {
        kind: Kind::Tasks,
        format: None,
        name: "Tasks",
        description: "A checklist whose items name the requirements they implement and can be ticked.",
        content: include_str!("templates/tasks.md"),
    },
    Template {
        kind: Kind::Constitution,
        format: None,
        name: "Constitution",
        description: "Numbered principles (rule and rationale), governance, lint settings and the \
                      version, ratified and amended dates.",
        content: include_str!("templates/constitution.md"),
    },
    Template {
        kind: Kind::Contract,
        format: Some(ContractFormat::OpenApi),
        name: "OpenAPI contract",
        description: "An OpenAPI 3.1 API in YAML: operations with IDs, summaries, error responses \
                      sharing one error schema, and `x-requirements` to link each to the \
                      requirements it carries out.",
        content: include_str!("templates/openapi.yaml"),
    },
    Template {
        kind: Kind::Contract,
        format: Some(ContractFormat::JsonSchema),
        name: "JSON Schema contract",
        description: "A JSON Schema (2020-12) data model: properties, required fields, \
                      definitions and an example.",
        content: include_str!("templates/json-schema.json"),
    },
];

/// The template for `kind` (a contract's in `format`, OpenAPI unless said), filled in
/// for a document called `title` (under `parent`).
pub fn render(
    kind: Kind,
    format: Option<ContractFormat>,
    title: &str,
    parent: Option<&str>,
    today: chrono::NaiveDate,
) -> String {
    let format = format.or((kind == Kind::Contract).then_some(ContractFormat::OpenApi));
    let template = TEMPLATES
        .iter()
        .find(|template| template.kind == kind && template.format == format)
        .expect("a template per kind and contract format");
    if kind == Kind::Contract {
        // In YAML and JSON alike, the title as a JSON string is one quoted value.
        let quoted = serde_json::to_string(title).expect("a string serializes");
        return template.content.replace("{{title}}", &quoted);
    }
    let parent = match parent {
        Some(parent) => format!("[[{parent}]]"),
        // Shown as code until there is a spec to name: a link to a placeholder would start
        // the document with a dangling-link error.
        None => "`[[Spec title]]`".to_owned(),
    };
    template
        .content
        .replace("{{title}}", title)
        .replace("[[{{parent}}]]", &parent)
        .replace("{{today}}", &today.format("%Y-%m-%d").to_string())
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_handler))
}

/// The document templates, and how requirements are written in them.
#[utoipa::path(get, path = "/projects/{id}/templates", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Templates), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(_project: Project<need::Read>) -> Result<Json<Templates>> {
    Ok(Json(Templates { templates: TEMPLATES.to_vec(), help: HELP }))
}
