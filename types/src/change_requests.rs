text_enum! {
    /// A reviewer's verdict on a change request.
    pub enum Verdict as "verdict" {
        Approve = "approve",
        RequestChanges = "request_changes",
    }
}

text_enum! {
    /// Where a change request is in its life.
    pub enum ChangeRequestState as "change request state" {
        Open = "open",
        Merged = "merged",
        Closed = "closed",
    }
}

text_enum! {
    /// One way a change request changes a document; a document may change in several.
    pub enum ChangeKind as "kind of change" {
        Added = "added",
        Deleted = "deleted",
        Renamed = "renamed",
        Moved = "moved",
        Modified = "modified",
    }
}
