//! Identifiers, one type per kind of thing, so that a document's id cannot be passed
//! where a branch's is expected. On the wire and in the database each is a UUID.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id {
    ($( $(#[$meta:meta])* $name:ident; )+) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
        pub struct $name(Uuid);

        impl $name {
            /// The id of a row read or made by the server; the UI receives ids, it
            /// does not make them.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, uuid::Error> {
                text.parse().map(Self)
            }
        }
    )+};
}

id! {
    /// A person's account.
    UserId;
    /// A project.
    ProjectId;
    /// A branch of a project.
    BranchId;
    /// A document, the same on every branch of its project.
    DocumentId;
    /// A change request.
    ChangeRequestId;
    /// A background job (re-indexing a project's embeddings).
    JobId;
    /// An incident a tool reported, with all its repeats.
    IncidentId;
    /// An address a project's events are sent to.
    WebhookId;
    /// One event sent to one webhook (its `webhook-id` header), with all its attempts.
    WebhookDeliveryId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_bare_uuid_on_the_wire() {
        let uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
        let id = DocumentId::from_uuid(uuid);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{uuid}\""));
        assert_eq!(serde_json::from_str::<DocumentId>(&format!("\"{uuid}\"")).unwrap(), id);
        assert_eq!(id.to_string().parse::<DocumentId>().unwrap(), id);
    }
}
