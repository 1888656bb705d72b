//! A server starting in a process that already serves pages: every test of this suite is
//! one, two at a time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use charter_backend::AppState;
use leptos::config::LeptosOptions;
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::harness::{test_settings, TestApp};

/// Listing a server's page routes renders the app once with resource loading switched off
/// for the whole process (leptos_server's flag): a page another server rendered meanwhile
/// waited for its resources forever. Routes are now listed once per process.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn pages_render_while_another_server_starts(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let starting = Arc::new(AtomicBool::new(true));
    let starter = std::thread::spawn({
        let starting = starting.clone();
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let state = AppState::new(db, test_settings(), charter_backend::documents::collab_rules());
                for _ in 0..40 {
                    let leptos = LeptosOptions::builder().output_name("charter").site_root("target/site").build();
                    drop(charter_server::router(state.clone(), leptos));
                    tokio::task::yield_now().await;
                }
                state.collab.close().await;
            });
            starting.store(false, Ordering::Release);
        }
    });

    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut rendered = 0;
    while starting.load(Ordering::Acquire) || rendered < 20 {
        let response = client.get(app.url("/login")).send().await.expect("the login page renders within 10 s");
        assert_eq!(response.status(), StatusCode::OK);
        rendered += 1;
    }
    starter.join().unwrap();
    println!("{rendered} login pages rendered while 40 servers started");
}
