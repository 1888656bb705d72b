//! A change request's life besides merging: closed and reopened by its author or a
//! reviewer, refused merging while closed or empty, and a close racing a merge.

use charter_types::{Actions, ChangeRequestState, MergeBlocker, Role};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::change_requests::{setup, Setup};
use crate::harness::{call, error_code};

impl Setup {
    /// Closes (`"close"`) or reopens (`"reopen"`) change request `number` as `client`.
    async fn set_state(&self, client: &Client, number: i64, verb: &str) -> (StatusCode, Value) {
        call(client, Method::POST, &self.url(&format!("/change-requests/{number}/{verb}")), None).await
    }

    async fn actions_of(&self, client: &Client, number: i64) -> Actions {
        let (status, view) = call(client, Method::GET, &self.url(&format!("/change-requests/{number}")), None).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        serde_json::from_value(view["actions"].clone()).unwrap()
    }

    /// The newest activity entries' actions, newest first.
    async fn latest_activity(&self, count: usize) -> Vec<String> {
        let (status, entries) =
            call(&self.ada, Method::GET, &self.url(&format!("/activity?limit={count}")), None).await;
        assert_eq!(status, StatusCode::OK, "{entries}");
        entries.as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap().to_owned()).collect()
    }
}

/// The error's message, after checking the API's error shape and its status.
fn refused(answer: &(StatusCode, Value), status: StatusCode) -> String {
    assert_eq!(answer.0, status, "{}", answer.1);
    error_code(&answer.1);
    answer.1["error"]["message"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_author_or_a_reviewer_closes_and_reopens_and_a_closed_one_neither_merges_nor_is_approved(db: PgPool) {
    let s = setup(db).await;
    let eddie = s.app.signup("eddie").await;
    s.app.add_member(&s.ada, &s.project, "eddie", Role::Editor).await;
    let vic = s.app.signup("vic").await;
    s.app.add_member(&s.ada, &s.project, "vic", Role::Viewer).await;
    s.write(&s.login, "draft", "# Login\n\nLock after 5 failures.\n").await;
    let number = s.open().await;

    // An editor who did not open it, and a viewer, may not close it; nor are they offered to.
    let message = refused(&s.set_state(&eddie, number, "close").await, StatusCode::FORBIDDEN);
    assert_eq!(message, "only the author of change request #1 or a reviewer can close it");
    assert!(!s.actions_of(&eddie, number).await.close);
    refused(&s.set_state(&vic, number, "close").await, StatusCode::FORBIDDEN);
    let mallory = s.app.signup("mallory").await;
    refused(&s.set_state(&mallory, number, "close").await, StatusCode::NOT_FOUND);
    refused(&s.set_state(&s.app.browser(), number, "close").await, StatusCode::UNAUTHORIZED);
    assert!(s.actions_of(&s.ada, number).await.close, "its author may");

    // A reviewer closes it.
    assert!(s.actions_of(&s.rita, number).await.close);
    let (status, view) = s.set_state(&s.rita, number, "close").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "closed");
    let actions: Actions = serde_json::from_value(view["actions"].clone()).unwrap();
    assert!(!actions.close && actions.reopen && !actions.review && !actions.resolve, "{actions:?}");
    assert_eq!(actions.merge_blockers[0], MergeBlocker::NotOpen { state: ChangeRequestState::Closed });
    let message = refused(&s.set_state(&s.ada, number, "close").await, StatusCode::CONFLICT);
    assert_eq!(message, "change request #1 is already closed");
    let (_, closed) = call(&s.ada, Method::GET, &s.url("/change-requests?state=closed"), None).await;
    assert_eq!(closed[0]["number"], number, "listed as closed: {closed}");

    // Closed, it is neither approved nor merged.
    let reviews = s.url(&format!("/change-requests/{number}/reviews"));
    let answer = call(&s.rita, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
    assert_eq!(refused(&answer, StatusCode::CONFLICT), "change request #1 is closed: reopen it first");
    assert_eq!(refused(&s.merge(number).await, StatusCode::CONFLICT), "change request #1 is closed: reopen it first");
    assert_eq!(s.text(&s.login, "main").await, "# Login\n", "nothing merged");
    refused(&s.set_state(&eddie, number, "reopen").await, StatusCode::FORBIDDEN);

    // Its author reopens it; then it is reviewed and merged as any other.
    let (status, view) = s.set_state(&s.ada, number, "reopen").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "open");
    let message = refused(&s.set_state(&s.ada, number, "reopen").await, StatusCode::CONFLICT);
    assert_eq!(message, "change request #1 is already open");
    assert_eq!(s.latest_activity(2).await, ["change_request.reopen", "change_request.close"]);
    s.approve(number).await;
    let (status, merged) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{merged}");

    // A merged one stays merged.
    let message = refused(&s.set_state(&s.ada, number, "reopen").await, StatusCode::CONFLICT);
    assert_eq!(
        message,
        "change request #1 is merged, and a merged change request cannot be reopened: open a new one for further changes"
    );
    let message = refused(&s.set_state(&s.rita, number, "close").await, StatusCode::CONFLICT);
    assert_eq!(message, "change request #1 is merged, so there is nothing to close");
    let merged = s.actions_of(&s.ada, number).await;
    assert!(!merged.close && !merged.reopen, "{merged:?}");
    assert_eq!(s.view(number).await["state"], "merged");
    refused(&s.set_state(&s.ada, 99, "close").await, StatusCode::NOT_FOUND);
}

/// A close and a merge sent together: exactly one wins, and the other is told why with
/// a 409, whichever comes first.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_close_racing_a_merge_leaves_exactly_one_outcome(db: PgPool) {
    let s = setup(db).await;
    let (mut merges, mut closes) = (0, 0);
    for round in 1..=6 {
        let branch = format!("race-{round}");
        let (status, body) = call(&s.ada, Method::POST, &s.url("/branches"), Some(json!({ "name": branch }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let text = format!("# Login\n\nRound {round}.\n");
        s.write(&s.login, &branch, &text).await;
        let body = json!({ "source": branch, "target": "main", "title": format!("Round {round}") });
        let (status, created) = call(&s.ada, Method::POST, &s.url("/change-requests"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let number = created["number"].as_i64().unwrap();
        s.approve(number).await;

        let before = s.text(&s.login, "main").await;
        let (merge, close) = tokio::join!(s.merge(number), s.set_state(&s.rita, number, "close"));
        let state = s.view(number).await["state"].as_str().unwrap().to_owned();
        match (merge.0, close.0) {
            (StatusCode::OK, StatusCode::CONFLICT) => {
                merges += 1;
                assert_eq!(state, "merged");
                assert_eq!(s.text(&s.login, "main").await, text);
                let message = refused(&close, StatusCode::CONFLICT);
                assert!(message.contains("is merged") || message.contains("being merged"), "{message}");
            }
            (StatusCode::CONFLICT, StatusCode::OK) => {
                closes += 1;
                assert_eq!(state, "closed");
                assert_eq!(s.text(&s.login, "main").await, before, "nothing merged");
                let message = refused(&merge, StatusCode::CONFLICT);
                assert!(message.contains("is closed") || message.contains("being merged"), "{message}");
            }
            outcome => panic!("exactly one wins, the other is told: {outcome:?} {merge:?} {close:?}"),
        }
        let (count,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM audit_log a JOIN change_requests c ON c.id::text = a.object_id
             WHERE c.project_id = $1 AND c.number = $2 AND a.action IN ('change_request.merge', 'change_request.close')",
        )
        .bind(s.id)
        .bind(number as i32)
        .fetch_one(&s.app.db)
        .await
        .unwrap();
        assert_eq!(count, 1, "one outcome in the activity");
    }
    assert_eq!(merges + closes, 6);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_change_request_without_changes_says_so_and_cannot_be_merged(db: PgPool) {
    let s = setup(db).await;
    let settings = s.url("/settings");
    let (status, body) = call(&s.ada, Method::PATCH, &settings, Some(json!({ "required_approvals": 0 }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let number = s.open().await;
    let view = s.view(number).await;
    assert_eq!(view["documents"], json!([]));
    let actions: Actions = serde_json::from_value(view["actions"].clone()).unwrap();
    assert_eq!(actions.merge_blockers, [MergeBlocker::NoChanges]);
    let message = refused(&s.merge(number).await, StatusCode::CONFLICT);
    assert_eq!(message, MergeBlocker::NoChanges.to_string());
    assert!(message.starts_with("there is nothing to merge"), "{message}");
    assert_eq!(s.latest_activity(1).await, ["change_request.open"], "no version, no merge recorded");

    // Said only while it is open.
    s.set_state(&s.ada, number, "close").await;
    let closed = s.actions_of(&s.ada, number).await;
    assert_eq!(closed.merge_blockers, [MergeBlocker::NotOpen { state: ChangeRequestState::Closed }]);

    // Once its branch changes something, it merges.
    s.write(&s.login, "draft", "# Login\n\nNow with a rule.\n").await;
    let (status, body) = s.set_state(&s.ada, number, "reopen").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(s.actions_of(&s.ada, number).await.may_merge());
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Everyone reading a change request sees who may approve it: the members whose role
/// includes reviewing, its author aside.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_change_request_names_who_may_approve_it(db: PgPool) {
    let s = setup(db).await;
    let eddie = s.app.signup("eddie").await;
    s.app.add_member(&s.ada, &s.project, "eddie", Role::Editor).await;
    s.app.signup("olga").await;
    s.app.add_member(&s.ada, &s.project, "olga", Role::Owner).await;
    s.write(&s.login, "draft", "# Login\n\nA rule.\n").await;
    let number = s.open().await;
    let (status, view) = call(&eddie, Method::GET, &s.url(&format!("/change-requests/{number}")), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["reviewers"], json!(["olga", "rita"]), "not ada, who opened it, nor eddie, an editor");
    let actions: Actions = serde_json::from_value(view["actions"].clone()).unwrap();
    assert!(!actions.review && !actions.approve && !actions.authored && !actions.close, "{actions:?}");
    let author = s.actions_of(&s.ada, number).await;
    assert!(author.authored && author.review && !author.approve, "{author:?}");
}
