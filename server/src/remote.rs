//! A Charter server as the command-line tools (`charter check`, `pull`, `push`,
//! `status`, `export`, `import`) reach it: its `/api/v1` with a bearer token, each failure said in words.

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
        let response = self
            .response(method, path, query, |request| match body {
                Some(body) => request.json(body),
                None => request,
            })
            .await?;
        read_json(response).await
    }

    /// A `GET` answered with bytes (an archive): its body and the file name it is sent as.
    pub async fn download(&self, path: &str, query: &[(&str, &str)]) -> Result<(Vec<u8>, Option<String>), Failure> {
        let response = self.response(Method::GET, path, query, |request| request).await?;
        let name = response
            .headers()
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once("filename=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| name.to_owned());
        let bytes = response
            .bytes()
            .await
            .map_err(|err| Failure { status: None, message: format!("reading the server's answer: {err}") })?;
        Ok((bytes.to_vec(), name))
    }

    /// A `POST` of bytes (an archive), answered with JSON.
    pub async fn upload<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Result<T, Failure> {
        let response = self
            .response(Method::POST, path, query, |request| {
                request.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes)
            })
            .await?;
        read_json(response).await
    }

    async fn response(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let request =
            self.client.request(method, format!("{}/api/v1{path}", self.server)).query(query).bearer_auth(&self.token);
        let response = body(request)
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

async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Failure> {
    response
        .json()
        .await
        .map_err(|err| Failure { status: None, message: format!("unexpected answer from the server: {err}") })
}
