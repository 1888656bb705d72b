//! A Charter server as the command-line tools (`charter check`, `pull`, `push`,
//! `status`) reach it: its `/api/v1` with a bearer token, each failure said in words.

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub struct Remote {
    client: reqwest::Client,
    server: String,
    token: String,
}

/// What went wrong talking to the server: its own answer, or that it could not be reached.
#[derive(Debug)]
pub struct Failure {
    pub status: Option<StatusCode>,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Failure> for String {
    fn from(failure: Failure) -> String {
        failure.message
    }
}

#[derive(Deserialize)]
struct ApiError {
    error: ApiErrorBody,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    message: String,
}

impl Remote {
    pub fn new(server: &str, token: &str) -> Remote {
        Remote {
            client: reqwest::Client::new(),
            server: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, Failure> {
        self.call(Method::GET, path, query, None::<&()>).await
    }

    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: &impl Serialize,
    ) -> Result<T, Failure> {
        self.call(method, path, query, Some(body)).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<T, Failure> {
        let response = self.response(method, path, query, body).await?;
        response
            .json()
            .await
            .map_err(|err| Failure { status: None, message: format!("unexpected answer from the server: {err}") })
    }

    async fn response(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<reqwest::Response, Failure> {
        let mut request =
            self.client.request(method, format!("{}/api/v1{path}", self.server)).query(query).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| Failure { status: None, message: format!("cannot reach {}: {err}", self.server) })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let message = match response.json::<ApiError>().await {
            Ok(body) => format!("the server answered {status}: {}", body.error.message),
            Err(_) => format!("the server answered {status}"),
        };
        Err(Failure { status: Some(status), message })
    }
}
