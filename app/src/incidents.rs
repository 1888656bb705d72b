//! Production feedback in the browser: a project's incidents (filtered, updated live),
//! and each incident's page, where people link it to requirements, dismiss it, or turn
//! it into a reviewed requirement change.

use std::time::Duration;

use charter_types::{
    DraftCreated, DraftMode, Incident, IncidentDetail, IncidentSeverity, IncidentState, Kind, Permission, Regression,
    RegressionKind,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, Redirect, A};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{Loaded, LoadedList, Time};
use crate::context::ProjectCtx;
use crate::error::AppError;
use crate::forms::FormError;

/// How often an open incidents page asks for what is new.
const REFRESH: Duration = Duration::from_secs(5);

#[server]
pub async fn list_incidents(
    slug: String,
    state: String,
    severity: String,
    source: String,
    service: String,
) -> Result<Vec<Incident>, AppError> {
    use charter_backend::incidents::triage::{self, IncidentsQuery};
    let (app, project) = crate::context::resolve(&slug, Permission::Read).await?;
    let given = |text: String| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let query = IncidentsQuery {
        state: given(state).map(|text| choice(&text, "state")).transpose()?,
        severity: given(severity).map(|text| choice(&text, "severity")).transpose()?,
        source: given(source),
        service: given(service),
    };
    Ok(triage::list(&app.db, &project, &query).await?)
}

/// One of an enum's spellings, or a message saying it is not one.
#[cfg(feature = "ssr")]
fn choice<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, AppError> {
    text.parse().map_err(|_| AppError::Invalid(format!("`{text}` is not a {what} Charter knows")))
}

#[server]
pub async fn load_incident(id: String) -> Result<IncidentDetail, AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "incident")?;
    Ok(charter_backend::incidents::triage::get(&state.db, &actor, id).await?)
}

/// The incident's page inside its project (for links that name only the incident).
#[server]
pub async fn incident_path(id: String) -> Result<String, AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "incident")?;
    let slug = charter_backend::incidents::triage::project_slug(&state.db, &actor, id).await?;
    Ok(format!("/p/{slug}/incidents/{id}"))
}

/// The caller, and the incident and requirement two ids name (server side).
#[cfg(feature = "ssr")]
async fn incident_and_requirement(
    id: &str,
    requirement: &str,
) -> Result<(charter_backend::AppState, charter_backend::access::Actor, charter_types::IncidentId, uuid::Uuid), AppError>
{
    let (state, actor) = crate::ssr::actor().await?;
    Ok((state, actor, crate::ssr::parse_id(id, "incident")?, crate::ssr::parse_id(requirement, "requirement")?))
}

#[server]
pub async fn link_incident(id: String, requirement: String) -> Result<(), AppError> {
    let (state, actor, id, requirement) = incident_and_requirement(&id, &requirement).await?;
    charter_backend::incidents::triage::link(&state.db, &actor, id, requirement).await?;
    Ok(())
}

#[server]
pub async fn unlink_incident(id: String, requirement: String) -> Result<(), AppError> {
    let (state, actor, id, requirement) = incident_and_requirement(&id, &requirement).await?;
    charter_backend::incidents::triage::unlink(&state.db, &actor, id, requirement).await?;
    Ok(())
}

#[server]
pub async fn dismiss_incident(id: String, reason: String) -> Result<(), AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "incident")?;
    let request = charter_types::DismissIncident { reason };
    charter_backend::incidents::triage::dismiss(&state.db, &actor, id, request).await?;
    Ok(())
}

/// `target`: a spec's id (a new requirement) or a linked requirement's (an amendment).
#[server]
pub async fn draft_incident(id: String, mode: String, target: String) -> Result<DraftCreated, AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "incident")?;
    let mode: DraftMode = choice(&mode, "kind of draft")?;
    let request = match mode {
        DraftMode::New => charter_types::NewDraft {
            mode,
            document_id: Some(crate::ssr::parse_id(&target, "spec")?),
            requirement_id: None,
        },
        DraftMode::Amend => charter_types::NewDraft {
            mode,
            document_id: None,
            requirement_id: Some(crate::ssr::parse_id(&target, "requirement")?),
        },
    };
    Ok(charter_backend::incidents::draft::draft(&state, &actor, id, request).await?)
}

fn severity_badge(severity: IncidentSeverity) -> impl IntoView {
    view! { <span class=format!("badge incident-severity-{severity}")>{severity.as_str()}</span> }
}

fn regression_text(regression: &Regression) -> String {
    let requirement = regression.key.clone().unwrap_or_else(|| "a requirement no longer on main".into());
    match regression.kind {
        RegressionKind::Recurrence => format!("Regression: it fired again after {requirement} was merged."),
        RegressionKind::Similar => format!("Regression: it matches {requirement}, written after an earlier incident."),
    }
}

/// Bumps the returned signal every [`REFRESH`] while the page is open (in the browser).
fn ticking() -> RwSignal<u32> {
    let tick = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), REFRESH) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

#[component]
pub fn IncidentsPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let query = use_query_map();
    let field = move |name: &'static str| Memo::new(move |_| query.read().get(name).unwrap_or_default());
    let (state, severity, source, service) = (field("state"), field("severity"), field("source"), field("service"));
    let tick = ticking();
    let list = Resource::new(
        move || (ctx.slug.get(), state.get(), severity.get(), source.get(), service.get(), tick.get()),
        |(slug, state, severity, source, service, _)| list_incidents(slug, state, severity, source, service),
    );
    let states = [("", "All"), ("open", "Open"), ("linked", "Linked"), ("dismissed", "Dismissed")];
    let severities = ["", "critical", "high", "medium", "low", "info"];
    view! {
        <Title text="Incidents" />
        <div class="page-head">
            <h1>"Incidents"</h1>
            <A href=move || format!("/p/{}/integrations", ctx.slug.get()) attr:class="button">"Connect a tool"</A>
        </div>
        <p class="muted">"What production reports: each incident is matched to the requirements it concerns. Link it, dismiss it, or turn it into a requirement change. This list updates by itself."</p>
        <Form action="" attr:class="filters incident-filters" attr:aria-label="Filter incidents">
            <label>"State"
                <select name="state">
                    {states.into_iter().map(|(value, label)| view! {
                        <option value=value selected=move || state.get() == value>{label}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Severity"
                <select name="severity">
                    {severities.into_iter().map(|value| view! {
                        <option value=value selected=move || severity.get() == value>{if value.is_empty() { "Any" } else { value }}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Source" <input name="source" maxlength="64" placeholder="sentry" prop:value=move || source.get() /></label>
            <label>"Service" <input name="service" maxlength="200" placeholder="payments" prop:value=move || service.get() /></label>
            <button type="submit" class="small">"Filter"</button>
        </Form>
        <LoadedList
            load=move || async move { ctx.loaded().await; list.await }
            empty_title="No incidents here"
            empty=move || view! { <p>"Point Alertmanager, Sentry, PagerDuty, Grafana or an OpenTelemetry collector at this project: "
                <A href=format!("/p/{}/integrations", ctx.slug.get_untracked())>"see how"</A> "."</p> }
            let:incidents
        >
            <IncidentTable incidents />
        </LoadedList>
    }
}

#[component]
fn IncidentTable(incidents: Vec<Incident>) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let slug = ctx.slug.get_untracked();
    view! {
        <table class="incidents">
            <thead><tr><th>"Severity"</th><th>"Incident"</th><th>"Service"</th><th>"Seen"</th><th>"Last seen"</th><th>"Triage"</th><th>"Best match"</th></tr></thead>
            <tbody>
                {incidents.into_iter().map(|incident| {
                    let href = format!("/p/{slug}/incidents/{}", incident.id);
                    let best = incident.links.first().or(incident.candidates.first()).and_then(|r| r.key.clone());
                    let regression = incident.regression.as_ref().map(|regression| view! {
                        <span class="badge regression" title=regression_text(regression)>"regression"</span>
                    });
                    view! {
                        <tr data-incident=incident.id.to_string() data-state=incident.state.as_str()>
                            <td>{severity_badge(incident.severity)}</td>
                            <td><A href=href>{incident.title.clone()}</A> " " {regression}
                                <div class="muted small">{format!("{} {} · {}", incident.source, incident.external_id, incident.status)}</div></td>
                            <td>{incident.service.clone()}</td>
                            <td>{incident.occurrences}</td>
                            <td><Time at=incident.last_seen /></td>
                            <td><span class=format!("badge incident-state-{}", incident.state)>{incident.state.as_str()}</span></td>
                            <td>{best.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/incidents/:id`: where provenance lines in specs point; sends the reader on to the
/// incident's page in its project.
#[component]
pub fn IncidentLinkPage() -> impl IntoView {
    let params = use_params_map();
    let path = Resource::new(move || params.read().get("id").unwrap_or_default(), incident_path);
    view! {
        <Loaded load=move || async move { path.await } let:path>
            <Redirect path />
        </Loaded>
    }
}

#[component]
pub fn IncidentPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let link = ServerAction::<LinkIncident>::new();
    let unlink = ServerAction::<UnlinkIncident>::new();
    let dismiss = ServerAction::<DismissIncident>::new();
    // Made here, outside what reloads, so that a draft in flight keeps its answer.
    let draft = ServerAction::<DraftIncident>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(created)) = draft.value().get() {
            let slug = ctx.slug.get_untracked();
            navigate(&format!("/p/{slug}/changes/{}", created.change_request.number), Default::default());
        }
    });
    // Refreshed on a timer only until matching has suggested something: later, forms
    // being filled in would be rebuilt under the reader.
    let matching = RwSignal::new(true);
    let tick = ticking();
    let detail = Resource::new(
        move || {
            let tick = if matching.get() { tick.get() } else { 0 };
            (id.get(), link.version().get(), unlink.version().get(), dismiss.version().get(), tick)
        },
        |(id, ..)| load_incident(id),
    );
    Effect::new(move |_| {
        if let Some(Ok(detail)) = detail.get() {
            let open = detail.incident.state == IncidentState::Open;
            matching.set(open && detail.incident.candidates.is_empty() && detail.incident.links.is_empty());
        }
    });
    view! {
        <FormError action=link />
        <FormError action=unlink />
        <Loaded load=move || async move { ctx.loaded().await; detail.await } let:detail>
            {
                let can_write = ctx.allows(Permission::Write);
                let slug = ctx.slug.get_untracked();
                let i = detail.incident.clone();
                let id = i.id.to_string();
                let requirement_href = |key: &str| format!("/p/{slug}/req/{}", crate::components::urlencode(key));
                let linked: Vec<(String, String)> =
                    i.links.iter().map(|r| (r.requirement_id.to_string(), r.key.clone().unwrap_or_else(|| "(not on main)".into()))).collect();
                view! {
                    <Title text=i.title.clone() />
                    <article class="incident">
                        <header class="document-head">
                            <div>
                                <span class="badge">"Incident"</span> {severity_badge(i.severity)}
                                <span class=format!("badge incident-status-{}", i.status)>{i.status.as_str()}</span>
                                <span class=format!("badge incident-state-{}", i.state)>{i.state.as_str()}</span>
                                <h1>{i.title.clone()}</h1>
                                <p class="muted">{format!("{} {} · service {} · seen {} time(s), first ", i.source, i.external_id, i.service, i.occurrences)}
                                    <Time at=i.first_seen /> ", last " <Time at=i.last_seen />
                                    {detail.url.clone().map(|url| view! { " · " <a href=url rel="noopener noreferrer" target="_blank">"open in the tool"</a> })}</p>
                            </div>
                        </header>
                        {i.regression.as_ref().map(|regression| view! { <p class="notice regression" role="status">{regression_text(regression)}</p> })}
                        {(!detail.description.is_empty()).then(|| view! { <p class="incident-description">{detail.description.clone()}</p> })}
                        {(!detail.labels.is_empty()).then(|| view! {
                            <dl class="labels">{detail.labels.clone().into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
                        })}
                        <section aria-labelledby="concerns">
                            <h2 id="concerns">"Requirements it concerns"</h2>
                            {if i.links.is_empty() {
                                view! { <p class="muted">"Not linked yet: confirm one of the suggestions below, or dismiss the incident."</p> }.into_any()
                            } else {
                                view! { <ul class="incident-links">{i.links.clone().into_iter().map(|r| {
                                    let key = r.key.clone().unwrap_or_else(|| "(not on main)".into());
                                    let (id, requirement) = (id.clone(), r.requirement_id.to_string());
                                    view! { <li><A href=requirement_href(&key) attr:class="req-key">{key.clone()}</A>
                                        {can_write.then(|| view! {
                                            <ActionForm action=unlink attr:class="inline-form">
                                                <input type="hidden" name="id" value=id />
                                                <input type="hidden" name="requirement" value=requirement />
                                                <button type="submit" class="small">"Unlink"</button>
                                            </ActionForm>
                                        })}</li> }
                                }).collect_view()}</ul> }.into_any()
                            }}
                            <h3>"Suggested by matching"</h3>
                            {if i.candidates.is_empty() {
                                view! { <p class="muted">"No suggestions yet: matching runs in the background, in a few seconds."</p> }.into_any()
                            } else {
                                view! { <ol class="candidates">{i.candidates.clone().into_iter().map(|r| {
                                    let key = r.key.clone().unwrap_or_else(|| "(not on main)".into());
                                    let already = i.links.iter().any(|l| l.requirement_id == r.requirement_id);
                                    let label = format!("Link to {key}");
                                    let (id, requirement) = (id.clone(), r.requirement_id.to_string());
                                    view! { <li><A href=requirement_href(&key) attr:class="req-key">{key.clone()}</A>
                                        <small class="muted">{format!(" score {:.0}%", r.score.unwrap_or(0.0) * 100.0)}</small>
                                        {(can_write && !already).then(|| view! {
                                            <ActionForm action=link attr:class="inline-form">
                                                <input type="hidden" name="id" value=id />
                                                <input type="hidden" name="requirement" value=requirement />
                                                <button type="submit" class="small" aria-label=label>"Link"</button>
                                            </ActionForm>
                                        })}</li> }
                                }).collect_view()}</ol> }.into_any()
                            }}
                        </section>
                        <DraftSection detail=detail.clone() linked can_write draft />
                        {let id = id.clone(); match (i.state, detail.dismissed_reason.clone()) {
                            (IncidentState::Dismissed, Some(reason)) => view! { <p class="notice">"Dismissed: " {reason}</p> }.into_any(),
                            _ if can_write => view! {
                                <details class="dismiss">
                                    <summary>"Dismiss: it does not concern the spec"</summary>
                                    <ActionForm action=dismiss attr:class="row">
                                        <input type="hidden" name="id" value=id />
                                        <label class="grow">"Why" <input name="reason" required maxlength="2000" placeholder="A provider outage; nothing to specify" /></label>
                                        <button type="submit" class="small">"Dismiss"</button>
                                    </ActionForm>
                                    <FormError action=dismiss />
                                </details>
                            }.into_any(),
                            _ => ().into_any(),
                        }}
                        <section aria-labelledby="timeline">
                            <h2 id="timeline">"Timeline"</h2>
                            {(detail.earlier_events > 0).then(|| view! { <p class="muted">{format!("{} earlier event(s) not shown.", detail.earlier_events)}</p> })}
                            <ol class="activity timeline">
                                {detail.timeline.iter().rev().map(|event| view! {
                                    <li><strong>{event.kind.as_str()}</strong> " " <small class="muted"><Time at=event.at /></small></li>
                                }).collect_view()}
                            </ol>
                        </section>
                    </article>
                }.into_any()
            }
        </Loaded>
    }
}

/// The drafts made from the incident, and (for writers) the form to make one: a new
/// requirement in a chosen spec, or an amendment of a linked requirement.
#[component]
fn DraftSection(
    detail: IncidentDetail,
    linked: Vec<(String, String)>,
    can_write: bool,
    draft: ServerAction<DraftIncident>,
) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let slug = ctx.slug.get_untracked();
    let specs: Vec<(String, String)> = ctx
        .tree
        .get_untracked()
        .and_then(Result::ok)
        .unwrap_or_default()
        .into_iter()
        .filter(|entry| entry.kind == Kind::Spec)
        .map(|entry| (entry.id.to_string(), entry.title))
        .collect();
    let mode = RwSignal::new(if linked.is_empty() { DraftMode::New } else { DraftMode::Amend });
    let id = detail.incident.id.to_string();
    let drafts = (!detail.drafts.is_empty()).then(|| view! {
        <ul class="drafts">
            {detail.drafts.iter().map(|draft| {
                let href = format!("/p/{slug}/changes/{}", draft.change_request);
                let what = match draft.mode { DraftMode::New => "adds", DraftMode::Amend => "amends" };
                view! { <li><A href=href>{format!("Change request #{}", draft.change_request)}</A>
                    {format!(" {what} {} on {} ({})", draft.key, draft.branch, draft.state)}
                    {draft.proposed_by.clone().map(|model| view! { " " <span class="badge">{format!("proposed by {model}")}</span> })}</li> }
            }).collect_view()}
        </ul>
    });
    let form = can_write.then(|| {
        let (specs, linked, id) = (specs.clone(), linked.clone(), id.clone());
        view! {
            <ActionForm action=draft attr:class="stack draft-form">
                <input type="hidden" name="id" value=id />
                <fieldset class="row">
                    <legend>"Turn it into"</legend>
                    <label><input type="radio" name="mode" value="new" checked=linked.is_empty() prop:checked=move || mode.get() == DraftMode::New
                        on:change=move |_| mode.set(DraftMode::New) /> " a new requirement"</label>
                    <label><input type="radio" name="mode" value="amend" disabled=linked.is_empty() checked=!linked.is_empty()
                        prop:checked=move || mode.get() == DraftMode::Amend on:change=move |_| mode.set(DraftMode::Amend) />
                        " an amendment of a linked requirement"</label>
                </fieldset>
                <Show when=move || mode.get() == DraftMode::New
                    fallback={
                        let linked = linked.clone();
                        move || view! {
                            <label>"Requirement" <select name="target">
                                {linked.clone().into_iter().map(|(id, key)| view! { <option value=id>{key}</option> }).collect_view()}
                            </select></label>
                        }
                    }>
                    <label>"Spec" <select name="target" required>
                        {specs.clone().into_iter().map(|(id, title)| view! { <option value=id>{title}</option> }).collect_view()}
                    </select></label>
                </Show>
                <FormError action=draft />
                <button type="submit" class="primary" disabled=move || draft.pending().get()>"Draft a change request"</button>
                <small class="muted">"A branch is made from main with the requirement drafted (a regression scenario and a line saying it came from this incident), and a change request opens for review."</small>
            </ActionForm>
        }
    });
    view! {
        <section aria-labelledby="learn">
            <h2 id="learn">"Turn it into a requirement"</h2>
            {drafts}
            {form}
        </section>
    }
}
