//! Production feedback: incidents and alerts that ops tools send to a project. `hooks`
//! reads each tool's own webhook format (its signature checked first) into `signal`s;
//! `ingest` folds them into incidents, once per delivery, deduplicated per source and
//! key; `matching` finds, in the background, the requirements each is about;
//! `triage` is what people read and decide; `integrations` the tools' signing secrets.

pub mod hooks;
mod ingest;
mod integrations;
pub mod matching;
mod routes;
pub mod signal;
mod triage;

pub(crate) use routes::router;
