//! Production feedback: incidents and alerts that ops tools send to a project. `hooks`
//! reads each tool's own webhook format (its signature checked first) into `signal`s;
//! `ingest` folds them into incidents (`fold` its statements), once per delivery,
//! deduplicated per source and key; `matching` finds, in the background, the requirements each is about;
//! `triage` is what people read and decide; `draft` turns an incident into a reviewed
//! requirement change (`compose` its words, `proposal` a chat model's); `regression`
//! notices incidents that come back after that; `integrations` the tools' secrets.

mod compose;
pub mod draft;
mod fold;
pub mod hooks;
pub mod ingest;
pub mod integrations;
pub mod matching;
mod proposal;
mod regression;
mod routes;
pub mod signal;
pub mod triage;

pub(crate) use routes::router;
