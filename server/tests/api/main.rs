//! Integration tests: each starts the real Charter router on a free port, against a
//! fresh database made by `#[sqlx::test]`, and talks to it over HTTP.

mod accounts;
mod activity;
mod authz;
mod branches;
mod change_request_states;
mod change_requests;
mod collab;
mod comment_threads;
mod documents;
mod harness;
mod history;
mod incident_drafts;
mod incident_flow;
mod incident_matching;
mod incidents;
mod mcp;
mod meaning;
mod nul;
mod page_errors;
mod parse_cache;
mod peer;
mod projects;
mod providers;
mod races;
mod render;
mod retrieval;
mod revocation;
mod search;
mod security;
mod structure;
mod sync;
mod tokens;
mod transport;
mod webhooks;
mod xss;
