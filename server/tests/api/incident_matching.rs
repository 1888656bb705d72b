//! Matching incidents to requirements: fifteen incidents as tools word them, against
//! fixture specs; the right requirement must come first for most of them.

use std::time::Duration;

use charter_types::{Incident, IncidentAccepted, Project};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{eventually, expect, meaning_settings, read, TestApp};
use crate::search::write;

const CHECKOUT: &str = "# Checkout\n\n## Requirements\n\n\
    - **PAY-001** The system SHALL charge a card at most once per order, even when the client retries.\n\
    - **PAY-002** A refund SHALL return the full amount to the original card within 5 business days.\n\
    - **PAY-003** Checkout SHALL answer within 2 seconds at the 99th percentile.\n\
    - **PAY-004** Prices SHALL be shown in the customer's currency with the exchange rate of the day.\n\
    - **PAY-005** A declined card SHALL show the customer why and let them try another card.\n";
const ACCOUNTS: &str = "# Accounts\n\n## Requirements\n\n\
    - **ACC-001** Users SHALL be able to reset their password through a link sent by email.\n\
    - **ACC-002** A session SHALL expire after 30 minutes without activity.\n\
    - **ACC-003** Five failed log-ins in a row SHALL lock the account for 15 minutes.\n\
    - **ACC-004** Two-factor codes SHALL be accepted only once and only for 30 seconds.\n";
const NOTIFICATIONS: &str = "# Notifications\n\n## Requirements\n\n\
    - **NOT-001** Order confirmation emails SHALL be sent within one minute of payment.\n\
    - **NOT-002** Push notifications SHALL never be sent between 22:00 and 07:00 local time.\n\
    - **NOT-003** An unsubscribe link SHALL stop all marketing email at once.\n";
const CATALOGUE: &str = "# Catalogue\n\n## Requirements\n\n\
    - **CAT-001** Product search SHALL return results within 300 milliseconds.\n\
    - **CAT-002** Stock levels SHALL never be shown as available when the warehouse has none.\n\
    - **CAT-003** Product images SHALL load progressively on slow connections.\n\
    - **CAT-004** Reports SHALL export to CSV with every column the screen shows.\n";

/// (incident title, description, the requirement it concerns)
const INCIDENTS: [(&str, &str, &str); 15] = [
    (
        "Duplicate charge detected",
        "Customer billed twice for order 88123 after the payment request timed out and was retried.",
        "PAY-001",
    ),
    ("Refund stuck in pending", "Refunds issued on Monday have not reached customers' cards after a week.", "PAY-002"),
    ("CheckoutLatencyHigh", "p99 latency of POST /checkout above 4 s for 10 minutes.", "PAY-003"),
    (
        "Wrong currency on price page",
        "EUR customers see prices in USD; exchange rates not applied since the nightly job failed.",
        "PAY-004",
    ),
    (
        "Card declined with blank error",
        "Users whose card is declined see an empty error box and cannot choose another card.",
        "PAY-005",
    ),
    (
        "Password reset emails not delivered",
        "Mail provider rejects the reset link messages; users cannot recover their accounts.",
        "ACC-001",
    ),
    (
        "Sessions never expire",
        "Idle users remain logged in for days; the inactivity timeout is not enforced.",
        "ACC-002",
    ),
    (
        "Brute force on login endpoint",
        "Thousands of failed log-ins against one account without any lockout.",
        "ACC-003",
    ),
    ("OTP replay accepted", "The same two-factor code was accepted three times within five minutes.", "ACC-004"),
    (
        "Order confirmation delay",
        "Confirmation emails arrive 40 minutes after payment because the mail queue is backed up.",
        "NOT-001",
    ),
    (
        "Push sent at 3 am",
        "Customers were woken by promotional push notifications in the middle of the night.",
        "NOT-002",
    ),
    (
        "Unsubscribed users still get newsletters",
        "Marketing emails keep going to people who clicked unsubscribe.",
        "NOT-003",
    ),
    ("Search timeouts", "GET /search answering in 2.5 s at p95 after the index rebuild.", "CAT-001"),
    (
        "Oversold item",
        "Shop showed 'in stock' for a sofa the warehouse had none of; 40 orders cannot be fulfilled.",
        "CAT-002",
    ),
    (
        "CSV export missing columns",
        "Exported sales report lacks the discount and tax columns shown on screen.",
        "CAT-004",
    ),
];

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn matching_puts_the_requirement_an_incident_concerns_first(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let owner = app.signup("matcher").await;
    let project = app.project(&owner, "Shop").await;
    for (title, text) in
        [("Checkout", CHECKOUT), ("Accounts", ACCOUNTS), ("Notifications", NOTIFICATIONS), ("Catalogue", CATALOGUE)]
    {
        let document = app.document(&owner, &project, title, None).await;
        write(&app, &owner, document.id, "main", text).await;
    }
    wait_until_embedded(&db, 16).await;
    let token = app.token(&owner, &["incidents:write"]).await;
    let mut reported = Vec::new();
    for (n, (title, description, expected)) in INCIDENTS.iter().enumerate() {
        let accepted = report(&app, &token, &project, format!("I-{n}"), title, description).await;
        reported.push((accepted.id, *expected));
    }
    let listed = matched(&app, &owner, &project, INCIDENTS.len()).await;
    let mut first = 0;
    let mut in_candidates = 0;
    for (id, expected) in &reported {
        let incident = listed.iter().find(|incident| incident.id == *id).expect("listed");
        let keys: Vec<&str> = incident.candidates.iter().filter_map(|c| c.key.as_deref()).collect();
        first += usize::from(keys.first() == Some(expected));
        in_candidates += usize::from(keys.contains(expected));
        assert!(incident.candidates.iter().all(|c| c.score.is_some_and(|s| s > 0.0 && s <= 1.0)), "{incident:?}");
    }
    let (hit_rate, recall) = (first as f64 / reported.len() as f64, in_candidates as f64 / reported.len() as f64);
    println!(
        "incident matching: first {first}/{}, hit rate {hit_rate:.2}; among the candidates {recall:.2}",
        reported.len()
    );
    // Measured 2026-12-04 with all-MiniLM-L6-v2: 15 of 15 first, 15 of 15 among the
    // candidates. The floors leave room for another model, not for a broken ranking.
    assert!(hit_rate >= 0.8, "hit rate {hit_rate:.2}");
    assert!(recall >= 0.93, "among the candidates {recall:.2}");
}

/// Matching that falls behind (an alert storm) first gives every incident candidates by
/// its words alone, then matches the same incidents by meaning too: in the end each has
/// the candidates a timely match gives it.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn incidents_matched_late_get_candidates_by_words_first_and_by_meaning_after(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let owner = app.signup("matcher").await;
    let project = app.project(&owner, "Shop").await;
    let document = app.document(&owner, &project, "Checkout", None).await;
    write(&app, &owner, document.id, "main", CHECKOUT).await;
    wait_until_embedded(&db, 5).await;
    let token = app.token(&owner, &["incidents:write"]).await;
    for (n, (title, description, _)) in INCIDENTS[..5].iter().enumerate() {
        report(&app, &token, &project, format!("I-{n}"), title, description).await;
    }
    let queue_empty = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM incident_queue").fetch_one(&db).await.unwrap() == 0
    };
    eventually("matching has worked off its queue", Duration::from_secs(90), queue_empty).await;
    let timely = candidates(&app, &owner, &project).await;
    assert!(timely.values().all(|(_, best)| *best > 0.5), "found by words and meaning: {timely:?}");

    // Each time matching marks an incident as matched by words alone, noted for the test
    // (the mark lasts only while the model embeds its text).
    sqlx::raw_sql(
        "CREATE TABLE marked_by_words (incident_id uuid, candidates bigint);
         CREATE FUNCTION note_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
             INSERT INTO marked_by_words
             SELECT NEW.incident_id, count(*) FROM incident_candidates WHERE incident_id = NEW.incident_id;
             RETURN NEW; END $$;
         CREATE TRIGGER note_marked AFTER UPDATE OF by_words ON incident_queue
             FOR EACH ROW WHEN (NEW.by_words AND NOT OLD.by_words) EXECUTE FUNCTION note_marked();",
    )
    .execute(&db)
    .await
    .unwrap();
    // As if a storm held them up: queued, due for a minute already, no candidates yet.
    sqlx::query("DELETE FROM incident_candidates").execute(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO incident_queue (incident_id, not_before) SELECT id, now() - interval '1 minute' FROM incidents",
    )
    .execute(&db)
    .await
    .unwrap();
    eventually("matching has worked off its queue again", Duration::from_secs(90), queue_empty).await;
    let marked: Vec<(uuid::Uuid, i64)> =
        sqlx::query_as("SELECT incident_id, candidates FROM marked_by_words").fetch_all(&db).await.unwrap();
    assert_eq!(marked.len(), 5, "each late incident was matched by words first: {marked:?}");
    assert!(marked.iter().all(|(_, candidates)| *candidates > 0), "with candidates: {marked:?}");
    assert_eq!(candidates(&app, &owner, &project).await, timely, "then the same candidates as a timely match");
}

/// Each incident's candidate keys and its best candidate's score, by title.
pub(crate) async fn candidates(
    app: &TestApp,
    client: &Client,
    project: &Project,
) -> std::collections::BTreeMap<String, (Vec<String>, f32)> {
    let url = app.url(&format!("/api/v1/projects/{}/incidents", project.id));
    let listed: Vec<Incident> = expect(client, Method::GET, &url, None).await;
    listed
        .into_iter()
        .map(|incident| {
            let keys = incident.candidates.iter().filter_map(|c| c.key.clone()).collect();
            let best = incident.candidates.iter().filter_map(|c| c.score).fold(0.0, f32::max);
            (incident.title, (keys, best))
        })
        .collect()
}

/// Reports a firing incident of the fixture source through the generic endpoint.
pub(crate) async fn report(
    app: &TestApp,
    token: &str,
    project: &Project,
    external_id: impl AsRef<str>,
    title: &str,
    description: &str,
) -> IncidentAccepted {
    let body = json!({"source": "fixture", "external_id": external_id.as_ref(), "title": title,
                      "description": description, "severity": "high", "service": "shop", "status": "firing",
                      "started_at": "2026-12-01T10:00:00Z"});
    let url = app.url(&format!("/api/v1/projects/{}/incidents", project.id));
    let (status, answer) = read(app.bare().post(url).bearer_auth(token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    serde_json::from_value(answer).unwrap()
}

/// Until at least `requirements` requirements are indexed, and all are embedded.
async fn wait_until_embedded(db: &PgPool, requirements: i64) {
    eventually("the specs are indexed and embedded", Duration::from_secs(90), || async {
        let (entries, waiting): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE embedding IS NULL) FROM search_entries WHERE kind = 'requirement'",
        )
        .fetch_one(db)
        .await
        .unwrap();
        entries >= requirements && waiting == 0
    })
    .await;
}

/// The project's incidents once matching has given each its candidates.
async fn matched(app: &TestApp, client: &Client, project: &Project, count: usize) -> Vec<Incident> {
    let url = app.url(&format!("/api/v1/projects/{}/incidents", project.id));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let listed: Vec<Incident> = expect(client, Method::GET, &url, None).await;
        if listed.len() == count && listed.iter().all(|incident| !incident.candidates.is_empty()) {
            return listed;
        }
        assert!(tokio::time::Instant::now() < deadline, "not every incident was matched: {listed:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Incidents of two projects queued together, the same texts reported to both and twice
/// to each: each is matched against its own project's requirements only, and the same
/// text gets the same candidates.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn incidents_queued_together_are_matched_within_their_own_projects(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let owner = app.signup("matcher").await;
    let mut projects = Vec::new();
    for (name, title, text, prefix) in [("Shop", "Checkout", CHECKOUT, "PAY-"), ("Login", "Accounts", ACCOUNTS, "ACC-")]
    {
        let project = app.project(&owner, name).await;
        let document = app.document(&owner, &project, title, None).await;
        write(&app, &owner, document.id, "main", text).await;
        projects.push((project, prefix));
    }
    wait_until_embedded(&db, 9).await;
    let token = app.token(&owner, &["incidents:write"]).await;
    // Reported all at once, so that the matcher (looking twice a second) usually takes
    // both projects' in one round; what is asserted holds however they are taken.
    let (app, token) = (&app, &token);
    let reports = projects.iter().flat_map(|(project, _)| {
        INCIDENTS[..3].iter().enumerate().flat_map(move |(n, (title, description, _))| {
            (0..2).map(move |copy| report(app, token, project, format!("I-{n}-{copy}"), title, description))
        })
    });
    futures_util::future::join_all(reports).await;
    eventually("matching has worked off its queue", Duration::from_secs(90), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM incident_queue").fetch_one(&db).await.unwrap() == 0
    })
    .await;
    for (project, prefix) in &projects {
        let url = app.url(&format!("/api/v1/projects/{}/incidents", project.id));
        let listed: Vec<Incident> = expect(&owner, Method::GET, &url, None).await;
        assert_eq!(listed.len(), 6);
        for incident in &listed {
            let keys: Vec<&str> = incident.candidates.iter().filter_map(|c| c.key.as_deref()).collect();
            assert!(keys.iter().all(|key| key.starts_with(prefix)), "{}: {keys:?}", project.name);
            // The checkout incidents are about the checkout spec, in the shop.
            let (_, _, concerns) = INCIDENTS.iter().find(|(title, ..)| *title == incident.title).unwrap();
            if concerns.starts_with(prefix) {
                assert_eq!(keys.first(), Some(concerns), "{}", incident.title);
            }
            let twin = listed
                .iter()
                .find(|other| other.id != incident.id && other.title == incident.title)
                .expect("each text was reported twice");
            let twin_keys: Vec<&str> = twin.candidates.iter().filter_map(|c| c.key.as_deref()).collect();
            assert_eq!(keys, twin_keys, "the same text, the same candidates");
        }
    }
}
