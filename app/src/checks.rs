//! The project's checks in the browser: lint findings across its documents, the rules
//! and how the constitution sets them, and the latest traceability report.

use charter_types::{Finding, Severity};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::components::{Loaded, Time};
use crate::context::{on_branch, ProjectCtx};
use crate::error::AppError;
use crate::structure::SpecTabs;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub commit: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    pub tested: usize,
    pub code_only: usize,
    pub untested: usize,
    pub unknown: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecksData {
    pub findings: Vec<Finding>,
    /// Rule ID, what it checks, and the severity it runs at (`off` when disabled).
    pub rules: Vec<(String, String, String)>,
    pub trace: Option<TraceSummary>,
}

#[server]
pub async fn project_checks(slug: String, branch: String) -> Result<ChecksData, AppError> {
    use charter_backend::structure::{self, traceability};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let report = structure::project_lint(&state.db, &project, &branch).await?;
    let trace = match traceability::get(&state.db, &project, &branch).await {
        Ok(stored) => Some(TraceSummary {
            commit: stored.commit,
            uploaded_by: stored.uploaded_by,
            created_at: stored.created_at,
            tested: stored.summary.tested,
            code_only: stored.summary.code_only,
            untested: stored.summary.untested,
            unknown: stored.report.unknown.into_iter().map(|unknown| unknown.key).collect(),
        }),
        Err(charter_backend::Error::NotFound(_)) => None,
        Err(error) => return Err(error.into()),
    };
    Ok(ChecksData {
        findings: report.findings.clone(),
        rules: report
            .rules
            .iter()
            .map(|rule| {
                (rule.id.clone(), rule.summary.clone(), rule.severity.map_or("off", Severity::as_str).to_owned())
            })
            .collect(),
        trace,
    })
}

#[component]
pub fn ChecksPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let data = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), ctx.changed.get()),
        |(slug, branch, _)| project_checks(slug, branch),
    );
    view! {
        <Title text="Checks" />
        <div class="page-head"><h1>"Checks"</h1></div>
        <SpecTabs current="checks" />
        <Loaded load=move || async move { data.await } let:checks>
            {
                let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                let errors = checks.findings.iter().filter(|f| f.severity == Severity::Error).count();
                let summary = match checks.findings.len() {
                    0 => "No findings: every document passes the checks.".to_owned(),
                    n => format!("{n} finding(s), {errors} of them error(s). Errors block merging a change request that touches their document."),
                };
                let trace = match checks.trace.clone() {
                    Some(t) => view! {
                        <p>{format!("Commit {}: {} tested, {} named only by code, {} untested", t.commit.chars().take(12).collect::<String>(), t.tested, t.code_only, t.untested)}
                           {(!t.unknown.is_empty()).then(|| format!("; IDs no spec defines: {}", t.unknown.join(", ")))}
                           " — uploaded by " {t.uploaded_by.clone()} " " <Time at=t.created_at /></p>
                    }.into_any(),
                    None => view! { <p class="muted">"No report yet. In CI, run "
                        <code>"charter check --project <id> --server <url> --token <token> --upload <repo>"</code>
                        " to see which requirements tests and code name."</p> }.into_any(),
                };
                view! {
                    <p role="status">{summary}</p>
                    {(!checks.findings.is_empty()).then(|| view! {
                        <ul class="findings">
                            {checks.findings.clone().into_iter().map(|f| {
                                let href = on_branch(&format!("/p/{slug}/doc/{}", f.document_id), &branch);
                                view! {
                                    <li class=format!("finding severity-{}", f.severity)>
                                        <span class=format!("badge severity-{}", f.severity)>{f.severity.as_str()}</span>
                                        " " <A href=href>{format!("{} line {}", f.document, f.line)}</A>
                                        " " {f.message.clone()} " " <code class="muted">{f.rule.clone()}</code>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    })}
                    <section aria-labelledby="traceability">
                        <h2 id="traceability">"Traceability"</h2>
                        {trace}
                    </section>
                    <section aria-labelledby="rules">
                        <h2 id="rules">"Rules"</h2>
                        <p class="muted">"The constitution's Checks heading turns rules off or changes their severity, e.g. "
                            <code>"- `vague-term`: error"</code> "."</p>
                        <table class="rules">
                            <thead><tr><th scope="col">"Rule"</th><th scope="col">"Checks that"</th><th scope="col">"Severity"</th></tr></thead>
                            <tbody>
                                {checks.rules.clone().into_iter().map(|(id, summary, severity)| view! {
                                    <tr><td><code>{id.clone()}</code></td><td>{summary.clone()}</td>
                                        <td><span class=format!("badge severity-{severity}")>{severity.clone()}</span></td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }.into_any()

            }
        </Loaded>
    }
}
