//! Threads on a change request's lines: replies join the thread on its line, the
//! thread is resolved and reopened as a whole, and only by those who may comment.

use charter_types::{Comment, LineSide, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::change_requests::setup;
use crate::harness::{call, expect};

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_line_thread_is_answered_and_resolved_in_place(db: PgPool) {
    let s = setup(db).await;
    let number = s.open().await;
    let comments = s.url(&format!("/change-requests/{number}/comments"));
    let on_removed = json!({ "body": "Why drop this?", "document_id": s.login, "line": 2, "side": "old" });
    let root: Comment = expect(&s.rita, Method::POST, &comments, Some(on_removed)).await;
    assert_eq!((root.line, root.side, root.reply_to), (Some(2), LineSide::Old, None));

    // A reply names only what it answers; a reply to the reply joins the same thread.
    let reply: Comment =
        expect(&s.ada, Method::POST, &comments, Some(json!({ "body": "It moved.", "reply_to": root.id }))).await;
    assert_eq!(
        (reply.document_id, reply.line, reply.side, reply.reply_to),
        (Some(s.login), Some(2), LineSide::Old, Some(root.id))
    );
    let again: Comment =
        expect(&s.rita, Method::POST, &comments, Some(json!({ "body": "Where to?", "reply_to": reply.id }))).await;
    assert_eq!(again.reply_to, Some(root.id));

    let resolution = |id: uuid::Uuid| s.url(&format!("/change-requests/{number}/comments/{id}/resolution"));
    let resolved: Comment = expect(&s.ada, Method::PUT, &resolution(root.id), Some(json!({ "resolved": true }))).await;
    assert_eq!(resolved.resolved_by.as_deref(), Some("ada"));
    assert!(resolved.resolved_at.is_some());
    let view = s.view(number).await;
    let listed: Vec<Comment> = serde_json::from_value(view["comments"].clone()).unwrap();
    assert_eq!(listed.iter().map(|comment| comment.id).collect::<Vec<_>>(), vec![root.id, reply.id, again.id]);
    assert_eq!(listed[0].resolved_by.as_deref(), Some("ada"), "the thread's first comment carries its state");

    let reopened: Comment =
        expect(&s.rita, Method::PUT, &resolution(root.id), Some(json!({ "resolved": false }))).await;
    assert_eq!((reopened.resolved_by, reopened.resolved_at), (None, None));

    // A reply is not a thread; nor is a comment of another change request.
    let (status, _) = call(&s.ada, Method::PUT, &resolution(reply.id), Some(json!({ "resolved": true }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = {
        s.write(&s.billing, "draft", "Other change.\n").await;
        let body = json!({ "source": "draft", "target": "main", "title": "Second" });
        let (status, created) = call(&s.ada, Method::POST, &s.url("/change-requests"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["number"].as_i64().unwrap()
    };
    let elsewhere = s.url(&format!("/change-requests/{other}/comments/{}/resolution", root.id));
    let (status, _) = call(&s.ada, Method::PUT, &elsewhere, Some(json!({ "resolved": true }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let stray = json!({ "body": "x", "reply_to": root.id });
    let (status, _) =
        call(&s.ada, Method::POST, &s.url(&format!("/change-requests/{other}/comments")), Some(stray)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reply stays in its change request");

    // Viewers read threads but neither answer nor resolve them.
    let vera = s.app.signup("vera").await;
    s.app.add_member(&s.ada, &s.project, "vera", Role::Viewer).await;
    let (status, _) = call(&vera, Method::PUT, &resolution(root.id), Some(json!({ "resolved": true }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&vera, Method::POST, &comments, Some(json!({ "body": "+1", "reply_to": root.id }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let activity: Vec<String> = {
        let (_, entries) = call(&s.ada, Method::GET, &s.url("/activity?limit=20"), None).await;
        entries.as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap().to_owned()).collect()
    };
    for action in ["change_request.resolve_thread", "change_request.reopen_thread"] {
        assert!(activity.contains(&action.to_owned()), "{action} in {activity:?}");
    }
}
