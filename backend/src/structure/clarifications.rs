//! Open questions: every `[NEEDS CLARIFICATION: …]` marker of a branch, kept as a row
//! so it can be listed and answered by id. Answering replaces the marker with the answer
//! and records a dated Q&A under the document's "Clarifications" heading, as one edit
//! merged into the live document (people typing meanwhile keep what they type).

use std::collections::HashMap;

use axum::extract::State;
use charter_types::{BranchId, Clarification, ClarificationState, DocumentId, Permission, ProjectId};
use chrono::Utc;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{parse, Corpus, Text};
use crate::access::Actor;
use crate::audit;
use crate::authorization::{self, need, Project, ProjectAccess};
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::extract::{Json, Path, Query};
use crate::{branches, content, documents, AppState};

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ClarificationQuery {
    /// `open` (the default), `answered`, `withdrawn` or `all`.
    pub state: Option<String>,
    /// `main` when left out.
    pub branch: Option<String>,
    /// Only this document's questions.
    pub document: Option<DocumentId>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewAnswer {
    pub answer: String,
}

/// Brings the branch's rows in line with its markers: new markers become open
/// questions, markers that are gone withdraw theirs.
pub(crate) async fn sync(
    conn: &mut PgConnection,
    project_id: ProjectId,
    branch_id: BranchId,
    corpus: &Corpus,
) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 11))")
        .bind(branch_id)
        .execute(&mut *conn)
        .await?;
    let mut present: Vec<(DocumentId, String, i32)> = Vec::new();
    for doc in &corpus.docs {
        let mut seen: HashMap<&str, i32> = HashMap::new();
        for marker in &doc.structure().clarifications {
            let occurrence = seen.entry(marker.question.as_str()).or_insert(0);
            present.push((doc.id, marker.question.clone(), *occurrence));
            *occurrence += 1;
        }
    }
    let (documents, questions, occurrences): (Vec<DocumentId>, Vec<String>, Vec<i32>) =
        present.into_iter().fold((Vec::new(), Vec::new(), Vec::new()), |(mut d, mut q, mut o), (id, question, n)| {
            d.push(id);
            q.push(question);
            o.push(n);
            (d, q, o)
        });
    // One statement: both parts see the same snapshot of the branch's questions.
    sqlx::query(
        "WITH present AS (
             SELECT * FROM unnest($3::uuid[], $4::text[], $5::int[]) AS p(document_id, question, occurrence)),
         withdrawn AS (
             UPDATE clarifications c SET state = 'withdrawn'
             WHERE c.branch_id = $2 AND c.state = 'open' AND NOT EXISTS (
                 SELECT 1 FROM present p
                 WHERE p.document_id = c.document_id AND p.question = c.question AND p.occurrence = c.occurrence))
         INSERT INTO clarifications (id, project_id, branch_id, document_id, question, occurrence)
         SELECT gen_random_uuid(), $1, $2, p.document_id, p.question, p.occurrence FROM present p
         ON CONFLICT (branch_id, document_id, question, occurrence) WHERE state = 'open' DO NOTHING",
    )
    .bind(project_id)
    .bind(branch_id)
    .bind(&documents)
    .bind(&questions)
    .bind(&occurrences)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const CLARIFICATION_QUERY: &str =
    "SELECT c.id, c.document_id, bd.title AS document, b.name AS branch, c.question, c.state,
         c.answer, u.username AS answered_by, c.answered_at, c.created_at
     FROM clarifications c JOIN branches b ON b.id = c.branch_id
     JOIN branch_documents bd ON bd.branch_id = c.branch_id AND bd.document_id = c.document_id
     LEFT JOIN users u ON u.id = c.answered_by";

pub async fn list(db: &PgPool, project: &ProjectAccess, query: ClarificationQuery) -> Result<Vec<Clarification>> {
    let project_id = project.project();
    // `None`: every state.
    let state = match query.state.as_deref() {
        None => Some(ClarificationState::Open),
        Some("all") => None,
        Some(state) => Some(
            state.parse().map_err(|_| Error::BadRequest("state is one of open, answered, withdrawn or all".into()))?,
        ),
    };
    let branch_id = branches::resolve(db, project_id, query.branch.as_deref().unwrap_or(branches::MAIN)).await?;
    let mut tx = db.begin().await?;
    let corpus = Corpus::load(&mut tx, branch_id, Text::Live).await?;
    sync(&mut tx, project_id, branch_id, &corpus).await?;
    tx.commit().await?;
    let mut found: Vec<Clarification> = sqlx::query_as(&format!(
        "{CLARIFICATION_QUERY} WHERE c.branch_id = $1 AND ($2::text IS NULL OR c.state = $2)
             AND ($3::uuid IS NULL OR c.document_id = $3)
         ORDER BY bd.position, c.document_id, c.state, c.created_at, c.occurrence"
    ))
    .bind(branch_id)
    .bind(state)
    .bind(query.document)
    .fetch_all(db)
    .await?;
    // Where each question is asked first, per document.
    let mut asked: HashMap<(DocumentId, &str), usize> = HashMap::new();
    for doc in &corpus.docs {
        for marker in &doc.structure().clarifications {
            asked.entry((doc.id, marker.question.as_str())).or_insert(marker.line);
        }
    }
    for clarification in found.iter_mut().filter(|c| c.state == ClarificationState::Open) {
        clarification.line = asked.get(&(clarification.document_id, clarification.question.as_str())).copied();
    }
    Ok(found)
}

/// Byte offset of a 1-based line and UTF-16 column.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
    let rest = text.get(start..)?;
    let mut units = 0;
    for (at, c) in rest.char_indices() {
        if units + 1 >= column {
            return Some(start + at);
        }
        units += c.len_utf16();
    }
    (units + 1 == column).then_some(text.len())
}

/// The text with the `occurrence`th marker asking `question` replaced by `answer`, and
/// the Q&A recorded under "Clarifications" (made at the end if there is none).
pub fn answered(
    text: &str,
    question: &str,
    occurrence: usize,
    answer: &str,
    today: chrono::NaiveDate,
) -> Option<String> {
    let structure = parse::parse(text);
    let marker = structure.clarifications.iter().filter(|m| m.question == question).nth(occurrence)?;
    let start = offset(text, marker.line, marker.column)?;
    let end = start + marker.raw.len();
    if text.get(start..end) != Some(marker.raw.as_str()) {
        return None;
    }
    let mut out = format!("{}{}{}", &text[..start], in_place(answer, &text[end..]), &text[end..]);
    let entry = format!("- {} — Q: {question} → A: {answer}\n", today.format("%Y-%m-%d"));

    // The end of the Clarifications section: the next heading at its level or above.
    let lines = parse::lines(&out);
    let section = lines.iter().find_map(|line| {
        parse::heading(line.raw)
            .filter(|(_, title)| title.eq_ignore_ascii_case("clarifications"))
            .map(|(level, _)| (line.number, level))
    });
    match section {
        Some((number, level)) => {
            let next = lines
                .iter()
                .filter(|line| line.number > number)
                .find(|line| parse::heading(line.raw).is_some_and(|(other, _)| other <= level))
                .map(|line| line.number);
            let mut kept: Vec<String> = out.split_inclusive('\n').map(str::to_owned).collect();
            if kept.last().is_some_and(|last| !last.ends_with('\n')) {
                kept.last_mut().expect("a last line").push('\n');
            }
            // After the section's last non-blank line.
            let end = next.map_or(kept.len(), |n| n - 1);
            let last_filled = (number..end).rev().find(|i| !kept[*i].trim().is_empty()).map_or(number, |i| i + 1);
            let mut insert = entry;
            if last_filled == number {
                insert = format!("\n{insert}");
            }
            if next.is_some() && kept.get(last_filled).is_none_or(|line| !line.trim().is_empty()) {
                insert.push('\n');
            }
            kept.insert(last_filled, insert);
            out = kept.concat();
        }
        None => {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("\n## Clarifications\n\n{entry}"));
        }
    }
    Some(out)
}

/// The answer as it reads where the marker was: without its closing punctuation where
/// the sentence goes on with its own, which would otherwise be doubled ("password..").
fn in_place<'a>(answer: &'a str, after: &str) -> &'a str {
    const CLOSING: &[char] = &['.', ',', ';', ':', '!', '?'];
    let trimmed = answer.trim_end_matches(CLOSING).trim_end();
    if after.starts_with(CLOSING) && !trimmed.is_empty() {
        trimmed
    } else {
        answer
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    project_id: ProjectId,
    branch_id: BranchId,
    branch: String,
    document_id: DocumentId,
    question: String,
    occurrence: i32,
}

pub async fn answer(state: &AppState, actor: &Actor, id: Uuid, new: NewAnswer) -> Result<Clarification> {
    let db = &state.db;
    let row: Row = sqlx::query_as(
        "SELECT c.project_id, c.branch_id, b.name AS branch, c.document_id, c.question, c.occurrence
         FROM clarifications c JOIN branches b ON b.id = c.branch_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("clarification"))?;
    // Answering edits the document: a viewer is told their role does not allow it.
    let project =
        authorization::authorize(db, actor, row.project_id, Permission::Write).await.map_err(|err| match err {
            Error::NotFound(_) => Error::not_found("clarification"),
            other => other,
        })?;
    let answer = new.answer.split_whitespace().collect::<Vec<_>>().join(" ");
    if answer.is_empty() || answer.chars().count() > 2000 {
        return Err(Error::Invalid("an answer needs 1 to 2,000 characters".into()));
    }
    if answer.to_uppercase().contains("[NEEDS CLARIFICATION") {
        return Err(Error::Invalid("an answer cannot ask a new question; add a marker in the document instead".into()));
    }
    let mut tx = project.begin(db).await?;
    // Checked once this transaction holds the caller's membership, so the role it reads
    // stays until the answer is recorded.
    let access = documents::collab_access(db, &project, row.document_id, &row.branch).await?;
    if !access.can_write {
        return Err(Error::Forbidden(
            "you cannot edit this document here (it may be protected: answer on a branch and open a change request)"
                .into(),
        ));
    }
    // One answer at a time, until it is recorded: a second is refused at once and never
    // edits the document. The row lock keeps the marker sync from withdrawing the
    // question under the answer that removes its marker.
    let (answering,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtextextended($1::text, 14))")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if !answering {
        return Err(Error::Conflict("someone is answering this question right now".into()));
    }
    let question_state: Option<ClarificationState> =
        sqlx::query_scalar("SELECT state FROM clarifications WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let question_state = question_state.ok_or_else(|| Error::not_found("clarification"))?;
    if question_state != ClarificationState::Open {
        return Err(Error::Conflict(format!("this question is {question_state} already")));
    }
    let key = DocKey::new(row.branch_id, row.document_id);
    let before = content::read(&mut *db.acquire().await?, key).await?;
    let today = Utc::now().date_naive();
    let after = answered(&before, &row.question, row.occurrence as usize, &answer, today)
        .ok_or_else(|| Error::Conflict("the question is no longer in the document".into()))?;
    content::validate(&after)?;
    if state.collab.merge_text(key, &before, &after, actor.user_id).await?.is_err() {
        return Err(Error::Conflict("someone changed the same lines just now; try again".into()));
    }
    sqlx::query(
        "UPDATE clarifications SET state = 'answered', answer = $2, answered_by = $3, answered_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(&answer)
    .bind(actor.user_id)
    .execute(&mut *tx)
    .await?;
    let summary = format!("answered \"{}\"", row.question);
    audit::record(&mut *tx, project.audit("clarification.answer", ("document", row.document_id), summary)).await?;
    tx.commit().await?;
    Ok(sqlx::query_as(&format!("{CLARIFICATION_QUERY} WHERE c.id = $1")).bind(id).fetch_one(db).await?)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_handler)).routes(routes!(answer_handler))
}

/// The project's clarification questions (open ones unless `state` says otherwise).
#[utoipa::path(get, path = "/projects/{id}/clarifications", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), ClarificationQuery),
    responses((status = 200, body = Vec<Clarification>), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<ClarificationQuery>,
) -> Result<Json<Vec<Clarification>>> {
    Ok(Json(list(&state.db, &project, query).await?))
}

/// Answer a question: the marker becomes the answer, and the Q&A is recorded in the
/// document's Clarifications section.
#[utoipa::path(post, path = "/clarifications/{id}/answer", tag = "specs",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = NewAnswer,
    responses((status = 200, body = Clarification), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn answer_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(new): Json<NewAnswer>,
) -> Result<Json<Clarification>> {
    Ok(Json(answer(&state, &actor, id, new).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn answering_replaces_the_marker_and_records_the_answer() {
        let text = "# Login\n\nUsers log in with [NEEDS CLARIFICATION: which method?].\n\n## Clarifications\n\n- 2026-11-01 — Q: old → A: done\n\n## Later\n";
        let out = answered(text, "which method?", 0, "email and password", day()).unwrap();
        assert_eq!(
            out,
            "# Login\n\nUsers log in with email and password.\n\n## Clarifications\n\n- 2026-11-01 — Q: old → A: done\n\
             - 2026-11-21 — Q: which method? → A: email and password\n\n## Later\n"
        );
    }

    #[test]
    fn an_answer_ending_a_sentence_leaves_no_doubled_punctuation() {
        let text = "Users log in with [NEEDS CLARIFICATION: which method?]. Then [NEEDS CLARIFICATION: how long?], \
                    by [NEEDS CLARIFICATION: who?] alone.";
        let out = answered(text, "which method?", 0, "email and password.", day()).unwrap();
        assert!(out.starts_with("Users log in with email and password. Then"), "{out}");
        assert!(
            out.ends_with("- 2026-11-21 — Q: which method? → A: email and password.\n"),
            "the record keeps it: {out}"
        );
        let out = answered(&out, "how long?", 0, "a week!", day()).unwrap();
        assert!(out.contains("Then a week, by"), "{out}");
        // Nothing follows to double it, or the answer is nothing but punctuation: kept as given.
        let out = answered(&out, "who?", 0, "the owner.", day()).unwrap();
        assert!(out.contains("by the owner. alone."), "{out}");
        let out = answered("Is it [NEEDS CLARIFICATION: ok?].", "ok?", 0, "?", day()).unwrap();
        assert!(out.starts_with("Is it ?."), "{out}");
    }

    #[test]
    fn answering_makes_the_section_when_missing_and_finds_the_nth_marker() {
        let text = "A [NEEDS CLARIFICATION: who?] and 🌍 [NEEDS CLARIFICATION: who?]";
        let out = answered(text, "who?", 1, "admins", day()).unwrap();
        assert_eq!(
            out,
            "A [NEEDS CLARIFICATION: who?] and 🌍 admins\n\n## Clarifications\n\n- 2026-11-21 — Q: who? → A: admins\n"
        );
        assert!(answered(text, "what?", 0, "x", day()).is_none());
        let empty_section =
            answered("Q [NEEDS CLARIFICATION: a?]\n\n## Clarifications\n", "a?", 0, "b", day()).unwrap();
        assert_eq!(empty_section, "Q b\n\n## Clarifications\n\n- 2026-11-21 — Q: a? → A: b\n");
    }
}
