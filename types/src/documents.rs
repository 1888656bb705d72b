text_enum! {
    /// What a document is: it decides its template, its lint rules and its protection.
    pub enum Kind as "document kind" {
        Constitution = "constitution",
        Spec = "spec",
        Plan = "plan",
        Tasks = "tasks",
    }
}
