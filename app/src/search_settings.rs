//! A project's search settings: which embedding provider finds by meaning, whether it
//! works, and the re-index job after a change, with its progress. Owners choose; every
//! member sees the state.

use std::time::Duration;

use charter_types::{EmbeddingSettings, Job, JobStarted, JobState, Permission, ProviderKind};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{Loaded, Time};
use crate::context::ProjectCtx;
use crate::error::AppError;
use crate::forms::FormError;

/// How often a running job's progress is read again.
const POLL: Duration = Duration::from_secs(1);

#[server]
pub async fn project_embeddings(slug: String) -> Result<EmbeddingSettings, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Read).await?;
    Ok(charter_backend::search::provider::settings(&state.db, &state.embeddings, &project).await?)
}

#[server]
pub async fn choose_embeddings(
    slug: String,
    provider: String,
    url: String,
    model: String,
    dimensions: String,
    key: String,
) -> Result<EmbeddingSettings, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    let provider = provider.parse::<ProviderKind>().map_err(|unknown| AppError::Invalid(unknown.to_string()))?;
    let dimensions = match dimensions.trim() {
        "" => None,
        given => Some(given.parse().map_err(|_| AppError::Invalid("Dimensions must be a whole number.".into()))?),
    };
    let given = |text: String| Some(text).filter(|text| !text.trim().is_empty());
    let request =
        charter_types::SetEmbeddings { provider, url: given(url), model: given(model), dimensions, key: given(key) };
    Ok(charter_backend::search::provider::set(&state.db, &state.embeddings, &project, request).await?)
}

#[server]
pub async fn reindex_project(slug: String) -> Result<JobStarted, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    Ok(charter_backend::search::provider::reindex(&state.db, &state.embeddings, &project).await?)
}

fn provider_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Server => "The server's provider",
        ProviderKind::Local => "The local model (all-MiniLM-L6-v2)",
        ProviderKind::OpenAi => "An OpenAI-compatible endpoint",
        ProviderKind::Off => "None: search by words only",
    }
}

/// The latest job, with a progress bar while it runs.
#[component]
fn JobStatus(job: Job) -> impl IntoView {
    let state = match job.state {
        JobState::Running => "Re-indexing",
        JobState::Done => "Re-indexed",
        JobState::Failed => "Re-indexing failed",
        JobState::Superseded => "Re-indexing replaced by a newer one",
    };
    let percent = if job.total == 0 { 100 } else { job.done * 100 / job.total };
    view! {
        <section class="card job" aria-label="Re-index job">
            <h2>{state}</h2>
            <progress max=job.total.max(1) value=if job.total == 0 { 1 } else { job.done }
                aria-label="Entries embedded"></progress>
            <p>{format!("{} of {} entries embedded ({percent}%)", job.done, job.total)}
               ", started " <Time at=job.started_at />
               {job.finished_at.map(|at| view! { ", finished " <Time at=at /> })}</p>
            {job.error.map(|error| view! { <p class="form-error">{error}</p> })}
        </section>
    }
}

#[component]
pub fn SearchSettingsPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let choose = ServerAction::<ChooseEmbeddings>::new();
    let reindex = ServerAction::<ReindexProject>::new();
    let settings = Resource::new(
        move || (ctx.slug.get(), choose.version().get(), reindex.version().get()),
        |(slug, ..)| project_embeddings(slug),
    );
    // The state and the job are read again every second while a job runs; the form
    // below is not, so nothing typed into it is lost.
    let tick = RwSignal::new(0u32);
    let status = Resource::new(
        move || (ctx.slug.get(), choose.version().get(), reindex.version().get(), tick.get()),
        |(slug, ..)| project_embeddings(slug),
    );
    Effect::new(move |_| {
        let job = status.get().and_then(Result::ok).and_then(|settings| settings.job);
        if job.is_some_and(|job| job.state == JobState::Running) {
            set_timeout(
                move || {
                    tick.try_update(|tick| *tick += 1);
                },
                POLL,
            );
        }
    });
    let picked = RwSignal::new(None::<ProviderKind>);
    view! {
        <Title text="Search settings" />
        <div class="page-head"><h1>"Search settings"</h1></div>
        <Loaded load=move || async move { ctx.loaded().await; status.await } let:settings>
            <section class="card">
                <h2>"Search by meaning"</h2>
                <p><strong>{if settings.meaning_search { "Search finds by meaning and by words." } else { "Search finds by words only." }}</strong></p>
                <p>"Provider: " {provider_name(settings.provider)}
                   {settings.model.clone().map(|model| format!(" — {model}"))}
                   {settings.url.clone().map(|url| format!(" at {url}"))}</p>
                <p class="muted">"This server's own provider: " {settings.server_provider.clone()}</p>
                {settings.notice.clone().map(|notice| view! { <p class="notice" role="status">{notice}</p> })}
            </section>
            {settings.job.clone().map(|job| view! { <JobStatus job=job /> })}
        </Loaded>
        <Loaded load=move || async move { ctx.loaded().await; settings.await } let:settings>
            {
                let current = settings.provider;
                let shown = move || picked.get().unwrap_or(current);
                ctx.allows(Permission::Manage).then(|| view! {
                        <section class="card">
                            <h2>"Choose the provider"</h2>
                            <p class="muted">"A provider with another model embeds every entry again; search answers by words meanwhile. \
                                An OpenAI-compatible endpoint must be on a host this server's operator allows."</p>
                            <ActionForm action=choose attr:class="stack">
                                <input type="hidden" name="slug" value=ctx.slug.get_untracked() />
                                <label>"Provider"
                                    <select name="provider" on:change=move |ev| picked.set(event_target_value(&ev).parse().ok())>
                                        {ProviderKind::ALL.iter().map(|kind| view! {
                                            <option value=kind.as_str() selected=move || shown() == *kind>{provider_name(*kind)}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                                <fieldset class="stack" hidden=move || shown() != ProviderKind::OpenAi
                                    style:display=move || if shown() == ProviderKind::OpenAi { "flex" } else { "none" }>
                                    <legend>"OpenAI-compatible endpoint"</legend>
                                    <label>"API address"
                                        <input name="url" type="url" placeholder="https://api.openai.com/v1"
                                            value=settings.url.clone().unwrap_or_default() />
                                    </label>
                                    <label>"Model"
                                        <input name="model" placeholder="text-embedding-3-small"
                                            value=settings.model.clone().unwrap_or_default() />
                                    </label>
                                    <label>"Dimensions"
                                        <input name="dimensions" type="number" min="1" max="2000" placeholder="1536"
                                            value=settings.dimensions.map(|d| d.to_string()).unwrap_or_default() />
                                    </label>
                                    <label>"API key"
                                        <input name="key" type="password" autocomplete="off"
                                            placeholder=if settings.has_key { "Set; leave empty to keep it for this address" } else { "None" } />
                                    </label>
                                </fieldset>
                                <div><button type="submit">"Save"</button></div>
                            </ActionForm>
                            <FormError action=choose />
                            <ActionForm action=reindex>
                                <input type="hidden" name="slug" value=ctx.slug.get_untracked() />
                                <button type="submit" class="secondary">"Re-index now"</button>
                            </ActionForm>
                            <FormError action=reindex />
                        </section>
                })
            }
        </Loaded>
    }
}
