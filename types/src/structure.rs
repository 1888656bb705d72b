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
