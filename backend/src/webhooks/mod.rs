//! Outgoing webhooks (Standard Webhooks): project owners register addresses that are
//! told of the project's events. Services `emit` an event inside the transaction of the
//! change it tells of (`outbox`); `delivery`, a background sender, POSTs each one
//! signed with the webhook's secret and retries from the Postgres queue with backoff;
//! `guard` keeps every address, at registration and at each delivery, off the server's
//! own network; `registry` is what owners set up and read.

pub mod delivery;
mod guard;
mod outbox;
pub mod registry;
mod routes;

pub use outbox::emit;
pub(crate) use routes::router;
