//! How the code serves a contract, as the latest `charter check --contract --upload`
//! found it: each operation implemented, missing or drifted, with the commit checked.

use charter_types::{Conformity, ContractCheck};
use leptos::prelude::*;

use crate::components::Time;
use crate::error::AppError;

/// The latest check of the code against the contract on `branch`, if there is one.
#[server]
pub async fn contract_conformance(id: String, branch: String) -> Result<Option<ContractCheck>, AppError> {
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Read).await?;
    match charter_backend::structure::conformance::latest(&state.db, &project, id, &branch).await {
        Ok(check) => Ok(Some(check)),
        Err(charter_backend::Error::NotFound(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// A contract's conformance: the latest check, or how to make one.
#[component]
pub fn Conformance(document: String, check: Option<ContractCheck>) -> impl IntoView {
    let body = match check {
        None => view! {
            <p class="muted">
                "The code has not been checked against this contract yet. In CI, after the build writes its OpenAPI document: "
                <code>{format!("charter check --contract {document} --implementation openapi.json --upload")}</code>
            </p>
        }
        .into_any(),
        Some(check) => {
            let breaking = check.breaks();
            view! {
                <p class=if breaking { "notice" } else { "muted" } role="status">
                    {if breaking { "The code breaks this contract's callers. " } else { "The code serves this contract. " }}
                    "Checked at " <code>{check.commit.clone()}</code> {format!(" by {} ", check.checked_by)} <Time at=check.checked_at />
                </p>
                <ul class="conformance">
                    {check.operations.into_iter().map(|operation| {
                        let status = operation.status;
                        let breaking: Vec<String> = operation.differences.into_iter().filter(|d| d.breaking).map(|d| d.change).collect();
                        view! {
                            <li class=format!("conformance-{status}")>
                                <span class=format!("badge conformance-{status}")>{status.as_str()}</span> " "
                                <code>{operation.operation}</code>
                                {(status == Conformity::Drifted).then(|| view! {
                                    <ul>{breaking.into_iter().map(|change| view! { <li>{change}</li> }).collect_view()}</ul>
                                })}
                            </li>
                        }
                    }).collect_view()}
                    {check.extra.into_iter().map(|name| view! {
                        <li class="conformance-extra"><span class="badge">"extra"</span> " " <code>{name}</code>
                            <small class="muted">" served, not in the contract"</small></li>
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
    };
    view! {
        <section class="document-conformance" aria-labelledby="conformance">
            <h2 id="conformance">"Code conformance"</h2>
            {body}
        </section>
    }
}
