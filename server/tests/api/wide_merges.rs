//! A change request touching many documents: each text is merged (several at a time,
//! read in batches), the version records every document as merged, and the source then
//! forks from what was merged.

use charter_types::DocumentId;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

use crate::change_requests::setup;
use crate::harness::call;

const DOCUMENTS: usize = 20;

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_merge_touching_many_documents_lands_each_one_and_records_it(db: PgPool) {
    let s = setup(db).await;
    let mut parts: Vec<DocumentId> = Vec::new();
    for n in 0..DOCUMENTS {
        let part = s.app.document(&s.ada, &s.project, &format!("Part {n}"), None).await.id;
        s.write(part, "main", &format!("part {n}\nline 2\nline 3\nline 4\n")).await;
        parts.push(part);
    }
    // `draft` forks from main as it is now.
    s.five_lines().await;
    // Every part changes line 2 on draft; every other one also changes line 4 on main.
    let merged = |n: usize| match n % 2 {
        0 => format!("part {n}\nLINE 2 (draft)\nline 3\nline 4 (main)\n"),
        _ => format!("part {n}\nLINE 2 (draft)\nline 3\nline 4\n"),
    };
    for (n, part) in parts.iter().enumerate() {
        s.write(part, "draft", &format!("part {n}\nLINE 2 (draft)\nline 3\nline 4\n")).await;
        if n % 2 == 0 {
            s.write(part, "main", &format!("part {n}\nline 2\nline 3\nline 4 (main)\n")).await;
        }
    }
    let number = s.open().await;
    let view = s.view(number).await;
    assert_eq!(view["documents"].as_array().unwrap().len(), DOCUMENTS, "{view}");
    assert_eq!(view["conflicts"], serde_json::json!([]), "{view}");
    s.approve(number).await;

    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = body["version"]["id"].as_str().unwrap().to_owned();
    for (n, part) in parts.iter().enumerate() {
        assert_eq!(s.text(part, "main").await, merged(n), "part {n} on main");
        let at = s.app.url(&format!("/api/v1/documents/{part}/at/{version}"));
        let (status, recorded) = call(&s.ada, Method::GET, &at, None).await;
        assert_eq!(status, StatusCode::OK, "{recorded}");
        assert_eq!(recorded["content"], Value::from(merged(n)), "part {n} in the version");
    }
    let login = s.app.url(&format!("/api/v1/documents/{}/at/{version}", s.login));
    let (_, untouched) = call(&s.ada, Method::GET, &login, None).await;
    assert_eq!(untouched["content"], "line 1\nline 2\nline 3\nline 4\nline 5\n", "{untouched}");

    // The source forks from what was merged: only what it does afterwards is new.
    s.write(parts[3], "draft", "part 3\nLINE 2 (draft)\nline 3\nline 4\nlater\n").await;
    let next = s.open().await;
    let changed: Vec<String> = s.view(next).await["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(changed, ["Part 3"]);
}
