text_enum! {
    /// How much a constitution's version must rise for a change to its principles.
    #[derive(PartialOrd, Ord)]
    pub enum Bump as "version bump" {
        Patch = "patch",
        Minor = "minor",
        Major = "major",
    }
}

text_enum! {
    /// How much a lint finding matters.
    #[derive(PartialOrd, Ord)]
    pub enum Severity as "severity" {
        Error = "error",
        Warning = "warning",
        Info = "info",
    }
}

text_enum! {
    /// Whether a requirement is ready to build from.
    pub enum RequirementStatus as "requirement status" {
        Ready = "ready",
        /// It still has an open `[NEEDS CLARIFICATION]` marker.
        NeedsClarification = "needs_clarification",
        /// It has no acceptance scenario.
        Incomplete = "incomplete",
    }
}

text_enum! {
    /// Where a question stands.
    pub enum ClarificationState as "question state" {
        Open = "open",
        Answered = "answered",
        /// Its marker was edited away unanswered.
        Withdrawn = "withdrawn",
    }
}

text_enum! {
    /// How far the code reaches a requirement, as the last traceability report found.
    #[derive(PartialOrd, Ord)]
    #[cfg_attr(feature = "utoipa", schema(as = Status))]
    pub enum TraceStatus as "traceability status" {
        /// Named by at least one test.
        Tested = "tested",
        /// Named by code, by no test.
        CodeOnly = "code_only",
        /// Named nowhere.
        Untested = "untested",
    }
}
