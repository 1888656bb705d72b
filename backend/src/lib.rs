//! Charter's server-side core: storage, authorization and the domain services, each
//! concern in its own module with its `/api/v1` routes beside it. The UI's server
//! functions call the same services, so both doors share one set of rules.

pub mod access;
pub mod accounts;
pub mod activity;
pub mod api;
pub mod audit;
pub mod auth;
pub mod authorization;
pub mod availability;
pub mod branches;
pub mod budget;
pub mod change_requests;
pub mod chat;
pub mod checks;
pub mod claims;
pub mod collab;
pub mod content;
pub mod contract;
pub mod deadline;
mod derived;
pub mod documents;
pub mod embeddings;
pub mod error;
pub mod exchange;
pub mod extract;
pub mod forwarded;
pub mod history;
pub mod incidents;
pub mod markdown;
pub mod mcp;
pub mod merge;
pub mod mock;
pub mod preview;
pub mod projects;
pub mod proposals;
pub mod ratelimit;
pub mod request_id;
pub mod restore;
pub mod search;
pub mod security;
mod state;
pub mod structure;
pub mod telemetry;
pub mod templates;
pub mod tokens;
pub mod webhooks;

pub use error::{Error, Result};
pub use state::{AppState, Settings};

/// The database migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
