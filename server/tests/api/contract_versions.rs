//! A contract's version through review: the bump a change request's API changes
//! propose, confirmed by a reviewer (again after the change moves on), an owner's
//! approval when the project asks for one on breaking changes, and merging, which
//! writes the version into `info.version` and tags it `<contract>@x.y.z`.

use charter_types::{Actions, Bump, ContractReview, Document, Kind, MergeBlocker, Role};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::contracts::{shop, Shop, CHECKOUT, ORDERS};
use crate::harness::{call, expect};

/// The contract's version line with a comment, which stamping must keep.
const VERSIONED: &str = "info: {title: Orders, version: 1.0.0}";
const COMMENTED: &str = "info:\n  title: Orders\n  version: 1.0.0 # bumped by review\n";
/// A response field's type changed: callers reading a string get a number.
const BEFORE: &str = "message: {type: string}";
const BREAKING: &str = "message: {type: integer}";

impl Shop {
    fn change_request(&self, number: i64) -> String {
        self.api(&format!("/projects/{}/change-requests/{number}", self.project.id))
    }

    /// Opens a change request from a new branch where `orders` reads `text`.
    async fn propose(&self, branch: &str, orders: &Document, text: &str) -> i64 {
        let branches = self.api(&format!("/projects/{}/branches", self.project.id));
        let _: Value = expect(&self.ada, Method::POST, &branches, Some(json!({ "name": branch }))).await;
        self.edit(branch, orders, text).await;
        let opened = json!({ "source": branch, "target": "main", "title": format!("Orders on {branch}") });
        let url = self.api(&format!("/projects/{}/change-requests", self.project.id));
        let created: Value = expect(&self.ada, Method::POST, &url, Some(opened)).await;
        created["number"].as_i64().unwrap()
    }

    async fn edit(&self, branch: &str, document: &Document, text: &str) {
        let url = self.api(&format!("/documents/{}/content?branch={branch}", document.id));
        let _: Value = expect(&self.ada, Method::PUT, &url, Some(json!({ "content": text }))).await;
    }

    /// The contract's review and the caller's actions, as the change request shows them.
    async fn review_of(&self, client: &Client, number: i64) -> (ContractReview, Actions) {
        let view: Value = expect(client, Method::GET, &self.change_request(number), None).await;
        let api = view["documents"].as_array().unwrap().iter().find_map(|change| change["api"].as_object()).unwrap();
        let review = serde_json::from_value(Value::Object(api.clone())).unwrap();
        (review, serde_json::from_value(view["actions"].clone()).unwrap())
    }

    async fn confirm(&self, client: &Client, number: i64, orders: &Document, bump: Bump) -> (StatusCode, Value) {
        let body = json!({ "bump": bump, "document_id": orders.id });
        call(client, Method::POST, &format!("{}/bumps", self.change_request(number)), Some(body)).await
    }

    async fn approve(&self, client: &Client, number: i64) {
        let url = format!("{}/reviews", self.change_request(number));
        let _: Value = expect(client, Method::POST, &url, Some(json!({ "verdict": "approve" }))).await;
    }

    async fn raw_at(&self, document: &Document, version: &str) -> String {
        let url = self.api(&format!("/documents/{}/raw?version={version}", document.id));
        let response = self.ada.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_reviewer_confirms_the_bump_and_merging_writes_and_tags_it(db: PgPool) {
    let s = shop(db).await;
    s.create("Checkout", Kind::Spec, CHECKOUT).await;
    let orders = s.create("Orders", Kind::Contract, &ORDERS.replace(VERSIONED, COMMENTED)).await;
    let bob = s.app.signup("bob").await;
    s.app.add_member(&s.ada, &s.project, "bob", Role::Reviewer).await;
    let leaner = ORDERS.replace(VERSIONED, COMMENTED).replace(BEFORE, BREAKING);
    let number = s.propose("leaner", &orders, &leaner).await;

    // A breaking change proposes a MAJOR bump, which waits for a reviewer.
    let (review, actions) = s.review_of(&s.ada, number).await;
    assert_eq!(
        (review.bump, review.current_version.as_deref(), review.proposed_version.as_deref()),
        (Some(Bump::Major), Some("1.0.0"), Some("2.0.0"))
    );
    assert!(review.confirmed.is_none() && review.next_version.is_none());
    let unconfirmed = MergeBlocker::ContractBumpUnconfirmed {
        contract: "Orders".into(),
        proposed: Bump::Major,
        to_version: "2.0.0".into(),
    };
    assert!(actions.merge_blockers.contains(&unconfirmed), "{:?}", actions.merge_blockers);
    assert!(!actions.confirm_bump, "authors do not confirm their own bump");
    let (status, body) = s.confirm(&s.ada, number, &orders, Bump::Major).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The reviewer confirms; an edit after that makes the confirmation stale.
    assert!(s.review_of(&bob, number).await.1.confirm_bump);
    let (status, body) = s.confirm(&bob, number, &orders, Bump::Major).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (review, _) = s.review_of(&s.ada, number).await;
    let confirmed = review.confirmed.clone().unwrap();
    assert_eq!((confirmed.bump, confirmed.by.as_str(), confirmed.stale), (Bump::Major, "bob", false));
    assert_eq!(review.next_version.as_deref(), Some("2.0.0"));
    s.edit("leaner", &orders, &leaner.replace("summary: Place an order", "summary: Place one order")).await;
    let (review, actions) = s.review_of(&s.ada, number).await;
    assert!(review.confirmed.unwrap().stale && review.next_version.is_none());
    assert!(actions.merge_blockers.contains(&unconfirmed));
    let (status, _) = s.confirm(&bob, number, &orders, Bump::Major).await;
    assert_eq!(status, StatusCode::OK);
    s.approve(&bob, number).await;
    let (_, actions) = s.review_of(&s.ada, number).await;
    assert_eq!(actions.merge_blockers, []);

    // A document the change request proposes no bump for has none to confirm.
    let checkout = s.create("Notes", Kind::Spec, "# Notes\n").await;
    let (status, body) = s.confirm(&bob, number, &checkout, Bump::Patch).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let merged: Value =
        expect(&s.ada, Method::POST, &format!("{}/merge", s.change_request(number)), Some(json!({}))).await;
    assert_eq!(merged["version"]["tags"], json!(["orders@2.0.0"]), "{merged}");
    let main = s.raw_at(&orders, "orders@2.0.0").await;
    assert_eq!(
        main,
        leaner
            .replace("summary: Place an order", "summary: Place one order")
            .replace("version: 1.0.0 # bumped", "version: 2.0.0 # bumped"),
        "only the version changed, its comment kept"
    );
    let tags: Value = expect(&s.ada, Method::GET, &s.api(&format!("/projects/{}/tags", s.project.id)), None).await;
    assert!(tags.as_array().unwrap().iter().any(|tag| tag["name"] == "orders@2.0.0"), "{tags}");
    // The merged change request says what it merged as.
    let (review, _) = s.review_of(&s.ada, number).await;
    assert_eq!((review.next_version.as_deref(), review.confirmed.unwrap().stale), (Some("2.0.0"), false));

    // The next change starts from 2.0.0; a version written too small is flagged, and
    // merging writes the confirmed one over it.
    let additive = main.replace(
        "'201': {description: Placed.}",
        "'201': {description: Placed.}\n        '202': {description: Queued.}",
    );
    let too_small = additive.replace("version: 2.0.0", "version: 2.0.1");
    let number = s.propose("queued", &orders, &too_small).await;
    let (review, _) = s.review_of(&s.ada, number).await;
    assert_eq!(
        (review.bump, review.proposed_version.as_deref(), review.written_version.as_deref(), review.written_too_small),
        (Some(Bump::Minor), Some("2.1.0"), Some("2.0.1"), true)
    );
    s.confirm(&bob, number, &orders, Bump::Minor).await;
    s.approve(&bob, number).await;
    let _: Value = expect(&s.ada, Method::POST, &format!("{}/merge", s.change_request(number)), Some(json!({}))).await;
    assert_eq!(s.raw_at(&orders, "orders@2.1.0").await, additive.replace("version: 2.0.0", "version: 2.1.0"));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn breaking_changes_wait_for_an_owner_when_the_project_asks(db: PgPool) {
    let s = shop(db).await;
    s.create("Checkout", Kind::Spec, CHECKOUT).await;
    let orders = s.create("Orders", Kind::Contract, ORDERS).await;
    let (bob, carol) = (s.app.signup("bob").await, s.app.signup("carol").await);
    s.app.add_member(&s.ada, &s.project, "bob", Role::Reviewer).await;
    s.app.add_member(&s.ada, &s.project, "carol", Role::Owner).await;
    let settings = s.api(&format!("/projects/{}/settings", s.project.id));
    let (status, _) = call(&bob, Method::PATCH, &settings, Some(json!({ "breaking_changes_need_owner": true }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "owners change settings");
    let project: Value =
        expect(&s.ada, Method::PATCH, &settings, Some(json!({ "breaking_changes_need_owner": true }))).await;
    assert_eq!(project["breaking_changes_need_owner"], true);

    let additive = ORDERS.replace(
        "'201': {description: Placed.}",
        "'201': {description: Placed.}\n        '202': {description: Queued.}",
    );
    let number = s.propose("queued", &orders, &additive).await;
    s.confirm(&bob, number, &orders, Bump::Minor).await;
    s.approve(&bob, number).await;
    assert_eq!(s.review_of(&s.ada, number).await.1.merge_blockers, [], "an additive change needs no owner");

    let breaking = ORDERS.replace(BEFORE, BREAKING);
    let number = s.propose("leaner", &orders, &breaking).await;
    s.confirm(&bob, number, &orders, Bump::Major).await;
    s.approve(&bob, number).await;
    let (_, actions) = s.review_of(&s.ada, number).await;
    assert_eq!(actions.merge_blockers, [MergeBlocker::OwnerApproval]);
    let (status, body) =
        call(&s.ada, Method::POST, &format!("{}/merge", s.change_request(number)), Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("owner's approval"), "{body}");
    s.approve(&carol, number).await;
    assert_eq!(s.review_of(&s.ada, number).await.1.merge_blockers, []);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_version_merging_cannot_write_is_refused_before_anything_merges(db: PgPool) {
    let s = shop(db).await;
    s.create("Checkout", Kind::Spec, CHECKOUT).await;
    // The version is an alias of another value: there is no text of its own to rewrite.
    let aliased = ORDERS.replace(VERSIONED, "x-release: &release 1.0.0\ninfo: {title: Orders, version: *release}");
    let orders = s.create("Orders", Kind::Contract, &aliased).await;
    let bob = s.app.signup("bob").await;
    s.app.add_member(&s.ada, &s.project, "bob", Role::Reviewer).await;
    let breaking = aliased.replace(BEFORE, BREAKING);
    let number = s.propose("leaner", &orders, &breaking).await;
    let (status, body) = s.confirm(&bob, number, &orders, Bump::Major).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.approve(&bob, number).await;

    let (status, body) =
        call(&s.ada, Method::POST, &format!("{}/merge", s.change_request(number)), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("merging cannot write 2.0.0 into the contract Orders"), "{message}");
    let main = s.api(&format!("/documents/{}/raw?branch=main", orders.id));
    assert_eq!(s.ada.get(main).send().await.unwrap().text().await.unwrap(), aliased, "nothing merged");

    // A contract the change deletes has no next version to confirm.
    let branches = s.api(&format!("/projects/{}/branches", s.project.id));
    let _: Value = expect(&s.ada, Method::POST, &branches, Some(json!({ "name": "gone" }))).await;
    let url = s.api(&format!("/documents/{}?branch=gone", orders.id));
    let (status, _) = call(&s.ada, Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let opened = json!({ "source": "gone", "target": "main", "title": "No more orders" });
    let url = s.api(&format!("/projects/{}/change-requests", s.project.id));
    let created: Value = expect(&s.ada, Method::POST, &url, Some(opened)).await;
    let (review, actions) = s.review_of(&s.ada, created["number"].as_i64().unwrap()).await;
    assert_eq!((review.bump, review.proposed_version), (Some(Bump::Major), None), "breaking, with nothing to stamp");
    assert!(!actions.merge_blockers.iter().any(|b| matches!(b, MergeBlocker::ContractBumpUnconfirmed { .. })));
}
