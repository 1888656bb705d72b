//! Open questions in the browser: every `[NEEDS CLARIFICATION: …]` marker of a project,
//! answered in place.

use charter_types::{Clarification, ClarificationState, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{LoadedList, Time};
use crate::context::{on_branch, ProjectCtx};
use crate::error::AppError;
use crate::forms::FormError;
use crate::structure::SpecTabs;

#[server]
pub async fn list_questions(
    slug: String,
    branch: String,
    state: String,
    document: Option<String>,
) -> Result<Vec<Clarification>, AppError> {
    use charter_backend::structure::clarifications::{self, ClarificationQuery};
    let (app, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let document = document.map(|id| crate::ssr::parse_id(&id, "document")).transpose()?;
    let query = ClarificationQuery { state: Some(state), branch: Some(branch), document };
    Ok(clarifications::list(&app.db, &project, query).await?)
}

#[server]
pub async fn answer_question(id: String, answer: String) -> Result<(), AppError> {
    use charter_backend::structure::clarifications::{self, NewAnswer};
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "question")?;
    clarifications::answer(&state, &actor, id, NewAnswer { answer }).await?;
    Ok(())
}

/// Questions with, for open ones, a form to answer them (for those who can edit).
#[component]
pub fn QuestionList(
    questions: Vec<Clarification>,
    can_answer: bool,
    answer: ServerAction<AnswerQuestion>,
    #[prop(default = true)] show_document: bool,
) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
    view! {
        <ul class="questions">
            {questions.into_iter().map(|q| {
                let doc_href = on_branch(&format!("/p/{slug}/doc/{}", q.document_id), &branch);
                let place = q.line.map(|line| format!(" · line {line}")).unwrap_or_default();
                let form = (can_answer && q.state == ClarificationState::Open).then(|| {
                    let label = format!("Answer: {}", q.question);
                    view! {
                        <ActionForm action=answer attr:class="row answer-form">
                            <input type="hidden" name="id" value=q.id.to_string() />
                            <label class="grow"><span class="visually-hidden">{label}</span>
                                <input name="answer" required maxlength="2000" placeholder="Your answer" /></label>
                            <button type="submit">"Answer"</button>
                        </ActionForm>
                    }
                });
                view! {
                    <li class="card question" data-state=q.state.as_str()>
                        <p class="question-text">{q.question.clone()}</p>
                        <small class="muted">
                            {show_document.then(|| view! { <A href=doc_href>{q.document.clone()}</A> })}
                            {place}
                        </small>
                        {q.answer.clone().map(|a| view! {
                            <p class="answer">"Answered: " {a}
                                {q.answered_by.clone().map(|by| format!(" — {by}"))}
                                {q.answered_at.map(|at| view! { " " <small class="muted"><Time at /></small> })}</p>
                        })}
                        {form}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn QuestionsPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let query = use_query_map();
    let state =
        Memo::new(move |_| query.read().get("state").filter(|s| s == "answered").unwrap_or_else(|| "open".into()));
    let answer = ServerAction::<AnswerQuestion>::new();
    let list = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), state.get(), answer.version().get(), ctx.changed.get()),
        |(slug, branch, state, ..)| list_questions(slug, branch, state, None),
    );
    let filter = move |value: &'static str, label: &'static str| {
        let href = move || {
            let path = on_branch(&format!("/p/{}/questions", ctx.slug.get()), &ctx.branch.get());
            let sep = if path.contains('?') { '&' } else { '?' };
            if value == "open" {
                path
            } else {
                format!("{path}{sep}state={value}")
            }
        };
        view! { <A href=href attr:aria-current=move || (state.get() == value).then_some("page")>{label}</A> }
    };
    view! {
        <Title text="Open questions" />
        <div class="page-head"><h1>"Open questions"</h1></div>
        <SpecTabs current="questions" />
        <p class="muted">"Every " <code>"[NEEDS CLARIFICATION: …]"</code> " marker in the project's documents. Answering one replaces the marker with the answer and records it under the document's Clarifications heading."</p>
        <nav class="filters" aria-label="Which questions">{filter("open", "Open")}{filter("answered", "Answered")}</nav>
        <FormError action=answer />
        <LoadedList
            load=move || async move { ctx.loaded().await; list.await }
            empty_title="No questions here"
            empty=|| view! { <p>"Mark unclear intent in a spec with "
                            <code>"[NEEDS CLARIFICATION: question]"</code> "; it shows up here until answered."</p> }
            let:items
        >
            {
                let can_answer = ctx.allows(Permission::Write);
                view! { <QuestionList questions=items can_answer answer />
                }
            }
        </LoadedList>
    }
}
