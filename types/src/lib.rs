//! Charter's shared vocabulary, compiled into the server and the browser alike: the
//! domain's enums, each with one spelling on the wire, in the database and in the UI.
//! Nothing here touches storage or HTTP; `sqlx` and `utoipa` support are features the
//! server turns on.

#[macro_use]
mod text;

mod change_requests;
mod documents;
mod roles;
mod structure;
mod tokens;

pub use change_requests::{Actions, ChangeKind, ChangeRequestState, MergeBlocker, Verdict};
pub use documents::Kind;
pub use roles::{Permission, Role};
pub use structure::{Bump, ClarificationState, RequirementStatus, Severity, TraceStatus};
pub use text::Unknown;
pub use tokens::Scope;
