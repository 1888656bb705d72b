//! Connecting ops tools to a project: for each tool, the address it posts to, how it
//! proves itself (an API token, or a signing secret set here by owners) and what to put
//! in the tool's own settings; and the project's outgoing webhooks.

use charter_types::{Integration, Permission, Tool};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::{Loaded, Time};
use crate::context::ProjectCtx;
use crate::error::AppError;
use crate::forms::FormError;

#[server]
pub async fn list_integrations(slug: String) -> Result<(String, Vec<Integration>), AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Read).await?;
    let origin = match state.settings.public_origin.clone() {
        Some(origin) => origin,
        // The address the reader reached this server at (a deployment behind a proxy sets
        // CHARTER_PUBLIC_ORIGIN).
        None => {
            let parts = use_context::<axum::http::request::Parts>();
            let host = parts
                .as_ref()
                .and_then(|parts| parts.headers.get(axum::http::header::HOST)?.to_str().ok().map(str::to_owned));
            format!("http://{}", host.unwrap_or_else(|| "localhost".into()))
        }
    };
    Ok((origin, charter_backend::incidents::integrations::list(&state.db, &project).await?))
}

#[server]
pub async fn set_integration_secret(slug: String, tool: String, secret: String) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    let tool: Tool = tool.parse().map_err(|unknown: charter_types::Unknown| AppError::Invalid(unknown.to_string()))?;
    let request = charter_types::SetIntegration { secret };
    charter_backend::incidents::integrations::set(&state.db, &project, tool, request).await?;
    Ok(())
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Alertmanager => "Prometheus Alertmanager",
        Tool::Sentry => "Sentry",
        Tool::Pagerduty => "PagerDuty",
        Tool::Grafana => "Grafana alerting",
        Tool::Otlp => "OpenTelemetry logs (OTLP/HTTP)",
    }
}

/// What to set in the tool itself, given the address it posts to.
fn instructions(tool: Tool, url: &str) -> AnyView {
    match tool {
        Tool::Alertmanager => view! {
            <p>"Add a receiver with a webhook, version 4 (the default), and an API token with the "
               <code>"incidents:write"</code> " scope as its bearer credentials:"</p>
            <pre><code>{format!("receivers:\n  - name: charter\n    webhook_configs:\n      - url: {url}\n        send_resolved: true\n        http_config:\n          authorization:\n            credentials: <your incidents:write token>")}</code></pre>
        }.into_any(),
        Tool::Sentry => view! {
            <p>"In Sentry, create an internal integration with this webhook URL, enable the "
               <em>"issue"</em> " webhooks and alert-rule actions, and paste its " <em>"client secret"</em>
               " below. Sentry signs every delivery with it (" <code>"Sentry-Hook-Signature"</code> ")."</p>
        }.into_any(),
        Tool::Pagerduty => view! {
            <p>"In PagerDuty, add a generic webhook (v3) subscription on the service with this URL and the "
               <code>"incident.triggered"</code> ", " <code>"incident.resolved"</code> " and "
               <code>"incident.reopened"</code> " events, then paste the signing secret it shows below. "
               "During a rotation, both secrets' signatures are accepted."</p>
        }.into_any(),
        Tool::Grafana => view! {
            <p>"In Grafana, add a contact point of type " <em>"Webhook"</em> " with this URL and, under its "
               "optional settings, an HMAC signature secret; paste the same secret below. "
               "Turn on the timestamp header too: deliveries older than five minutes are then refused."</p>
        }.into_any(),
        Tool::Otlp => view! {
            <p>"In the OpenTelemetry Collector, export logs with " <code>"otlphttp"</code>
               " (JSON encoding) and an API token with the " <code>"incidents:write"</code>
               " scope; records of severity ERROR and above become incidents, grouped by service and message:"</p>
            <pre><code>{format!("exporters:\n  otlphttp/charter:\n    logs_endpoint: {url}\n    encoding: json\n    headers:\n      Authorization: Bearer <your incidents:write token>")}</code></pre>
        }.into_any(),
    }
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let set = ServerAction::<SetIntegrationSecret>::new();
    let list = Resource::new(move || (ctx.slug.get(), set.version().get()), |(slug, _)| list_integrations(slug));
    view! {
        <Title text="Integrations" />
        <div class="page-head"><h1>"Integrations"</h1></div>
        <p class="muted">"Ops tools report incidents here; each is matched to the requirements it concerns on the "
            <A href=move || format!("/p/{}/incidents", ctx.slug.get())>"Incidents"</A> " page. Tools that cannot sign use an "
            <A href="/settings/tokens">"API token"</A> " with the " <code>"incidents:write"</code> " scope."</p>
        <FormError action=set />
        <Loaded load=move || async move { ctx.loaded().await; list.await } let:found>
            {
                let (origin, tools) = found;
                let is_owner = ctx.allows(Permission::Manage);
                tools.into_iter().map(|integration| {
                    let url = format!("{origin}{}", integration.path);
                    let tool = integration.tool;
                    let proof = if integration.signed {
                        match integration.secret_set_at {
                            Some(at) => view! { <p><span class="badge status-ready">"secret set"</span> " " <Time at /></p> }.into_any(),
                            None => view! { <p><span class="badge status-needs_clarification">"no secret yet"</span>
                                " Deliveries are refused until an owner sets it."</p> }.into_any(),
                        }
                    } else {
                        view! { <p><span class="badge">"API token"</span></p> }.into_any()
                    };
                    let form = (integration.signed && is_owner).then(|| {
                        let label = format!("{} signing secret", tool_name(tool));
                        view! {
                            <ActionForm action=set attr:class="row">
                                <input type="hidden" name="slug" value=ctx.slug.get_untracked() />
                                <input type="hidden" name="tool" value=tool.as_str() />
                                <label class="grow">{label}
                                    <input type="password" name="secret" required minlength="16" maxlength="512" autocomplete="off" /></label>
                                <button type="submit" class="small">{if integration.secret_set { "Rotate" } else { "Set" }}</button>
                            </ActionForm>
                        }
                    });
                    view! {
                        <section class="card integration" data-tool=tool.as_str()>
                            <h2>{tool_name(tool)}</h2>
                            <label>"Address" <input readonly value=url.clone() class="copyable" /></label>
                            {proof}
                            {instructions(tool, &url)}
                            {form}
                        </section>
                    }
                }).collect_view()
            }
        </Loaded>
        <crate::webhooks::WebhooksSection />
    }
}
