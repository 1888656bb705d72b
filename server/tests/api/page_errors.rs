//! What the pages and their server functions answer when a person gets something
//! wrong: the status that says so (never a 500), a message in words, and the same with
//! JavaScript off.

use charter_app::error::AppError;
use charter_types::Role;
use leptos::server_fn::ServerFn;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use sqlx::PgPool;

use crate::harness::{TestApp, PASSWORD};

/// Calls a server function as the page's script does, returning its status and error.
async fn server_fn<S: ServerFn>(
    client: &Client,
    app: &TestApp,
    form: &[(&str, &str)],
) -> (StatusCode, Option<AppError>) {
    let response = client.post(app.url(S::PATH)).form(form).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    (status, (!status.is_success()).then(|| serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"))))
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn server_functions_answer_mistakes_with_their_status(db: PgPool) {
    use charter_app::account::Login;
    use charter_app::context::ProjectBySlug;
    use charter_app::projects::{CreateBranch, CreateProject};

    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let grace = app.signup("grace").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "grace", Role::Viewer).await;
    let slug = project.slug.as_str();

    let wrong_password = [("username", "ada"), ("password", "not the password at all")];
    let (status, error) = server_fn::<Login>(&app.browser(), &app, &wrong_password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error.unwrap().to_string(), "Invalid username or password.");

    let (status, error) = server_fn::<CreateProject>(&app.browser(), &app, &[("name", "Anonymous")]).await;
    assert_eq!((status, error), (StatusCode::UNAUTHORIZED, Some(AppError::Unauthorized)));

    let (status, error) = server_fn::<ProjectBySlug>(&ada, &app, &[("slug", "no-such-project")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error:?}");

    let (status, error) =
        server_fn::<CreateBranch>(&grace, &app, &[("slug", slug), ("name", "x"), ("from", "main")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error:?}");

    let (status, error) =
        server_fn::<CreateBranch>(&ada, &app, &[("slug", slug), ("name", "main"), ("from", "main")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error.unwrap().to_string(), "A branch named “main” already exists.");

    let (status, error) = server_fn::<CreateProject>(&ada, &app, &[("name", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error:?}");
    assert!(error.unwrap().to_string().starts_with("A project needs a name"));

    let (status, error) = server_fn::<CreateProject>(&ada, &app, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a missing field: {error:?}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_login_posted_without_javascript_shows_its_error_on_the_page_once(db: PgPool) {
    let app = TestApp::spawn(db).await;
    app.signup("ada").await;
    let browser = Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let page = app.url("/login?next=%2Fprojects");
    let posted = browser
        .post(app.url(charter_app::account::Login::PATH))
        .header("origin", &app.base)
        .header("referer", &page)
        .header(ACCEPT, "text/html")
        .form(&[("username", "ada"), ("password", "not the password at all"), ("next", "/projects")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::FOUND, "sent back to the form");
    assert_eq!(posted.headers()[LOCATION], page.as_str());

    let shown = browser.get(&page).send().await.unwrap().text().await.unwrap();
    let message = "Invalid username or password.";
    assert!(shown.contains(message), "the page shows why: {shown}");
    let again = browser.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(message), "only once");

    // The right password the same way signs in.
    let posted = browser
        .post(app.url(charter_app::account::Login::PATH))
        .header("origin", &app.base)
        .header("referer", &page)
        .header(ACCEPT, "text/html")
        .form(&[("username", "ada"), ("password", PASSWORD), ("next", "/projects")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.headers()[LOCATION], "/projects");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn pages_render_their_lists_and_missing_things_are_404_with_the_layout(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments <platform>").await;
    app.document(&ada, &project, "Refund rules", None).await;

    let projects = ada.get(app.url("/projects")).send().await.unwrap();
    assert_eq!(projects.status(), StatusCode::OK);
    let html = projects.text().await.unwrap();
    assert!(html.contains("Payments &lt;platform&gt;"), "the list is in the page itself: {html}");
    assert!(!html.contains("Loading…"), "{html}");

    let overview = ada.get(app.url(&format!("/p/{}", project.slug))).send().await.unwrap().text().await.unwrap();
    assert!(overview.contains("Refund rules"), "the document tree too: {overview}");

    for missing in [
        "/p/no-such-project".to_owned(),
        format!("/p/{}/doc/{}", project.slug, uuid::Uuid::now_v7()),
        format!("/p/{}/changes/999", project.slug),
        "/no/such/page".to_owned(),
    ] {
        let response = ada.get(app.url(&missing)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"<header class="site-header""#), "{missing}: the normal layout");
        assert!(html.contains("Not found"), "{missing}: {html}");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_address_cannot_put_words_into_a_forms_error(db: PgPool) {
    use leptos::server_fn::error::ServerFnUrlError;
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let planted = AppError::Invalid("Your account is locked: call +1 555 0100".into());
    let crafted = ServerFnUrlError::new(charter_app::projects::CreateProject::PATH, planted)
        .to_url(&app.url("/projects"))
        .unwrap();
    let html = ada.get(crafted.as_str()).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("New project"), "the page itself: {html}");
    assert!(!html.contains("call +1 555"), "the address's words are not shown: {html}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn viewing_pages_leaves_the_session_as_it_is(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    app.project(&ada, "Payments").await;
    for page in ["/projects", "/p/payments", "/no/such/page"] {
        let response = ada.get(app.url(page)).send().await.unwrap();
        assert!(response.headers().get(SET_COOKIE).is_none(), "{page} rewrote the session");
    }
    let (sessions,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM tower_sessions.session").fetch_one(&app.db).await.unwrap();
    let anonymous = Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let posted = anonymous
        .post(app.url(charter_app::account::Login::PATH))
        .header("origin", &app.base)
        .header("referer", app.url("/login"))
        .header(ACCEPT, "text/html")
        .form(&[("username", "ada"), ("password", "not the password at all")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::FOUND);
    let shown = anonymous.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(shown.contains("Invalid username or password."));
    let (after,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM tower_sessions.session").fetch_one(&app.db).await.unwrap();
    assert_eq!(after, sessions, "a visitor's session that only carried the error is gone once shown");
}
