text_enum! {
    /// What an API token may do. Browser sessions may do everything their roles allow.
    pub enum Scope as "scope" {
        Read = "read",
        Write = "write",
        IncidentsWrite = "incidents:write",
    }
}
