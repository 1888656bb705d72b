//! A readable reference of the JSON API, generated from the same OpenAPI document that
//! `/api/openapi.json` serves, so it always matches the routes.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::Loaded;
use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub tag: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub statuses: Vec<String>,
}

#[server]
pub async fn api_reference() -> Result<Vec<Operation>, AppError> {
    let document = serde_json::to_value(charter_backend::api::openapi()).map_err(|_| AppError::Internal)?;
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let text = |key: &str| operation[key].as_str().unwrap_or_default().to_owned();
            operations.push(Operation {
                tag: operation["tags"][0].as_str().unwrap_or("other").to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text("summary"),
                statuses: operation["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(code, _)| code.clone())
                    .collect(),
            });
        }
    }
    operations.sort_by(|a, b| (&a.tag, &a.path).cmp(&(&b.tag, &b.path)));
    Ok(operations)
}

#[component]
pub fn ApiDocsPage() -> impl IntoView {
    let operations = Resource::new(|| (), |_| api_reference());
    view! {
        <Title text="API reference" />
        <div class="page-head">
            <h1>"API reference"</h1>
            <p class="muted">
                "JSON over HTTP under " <code>"/api/v1"</code> ". Authenticate with a session cookie or "
                <code>"Authorization: Bearer <token>"</code> " (" <a href="/settings/tokens">"create a token"</a> "). "
                "Errors are " <code>"{\"error\": {\"code\", \"message\"}}"</code> ". Machine-readable: "
                <a href="/api/openapi.json">"OpenAPI 3.1 document"</a> "."
            </p>
        </div>
        <Loaded load=move || async move { operations.await } let:list>
            <table class="api-reference">
                <thead><tr><th scope="col">"Area"</th><th scope="col">"Method"</th><th scope="col">"Path"</th>
                    <th scope="col">"What it does"</th><th scope="col">"Responses"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|op| view! {
                        <tr>
                            <td>{op.tag}</td>
                            <td><span class=format!("method method-{}", op.method.to_lowercase())>{op.method.clone()}</span></td>
                            <td><code>{op.path}</code></td>
                            <td>{op.summary}</td>
                            <td>{op.statuses.join(", ")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </Loaded>
    }
}
