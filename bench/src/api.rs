//! Charter's JSON API as the load generator uses it: one signed-in user per run.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::Method;
use serde::de::DeserializeOwned;

/// Charter's JSON API with one signed-in user, answering in the API's own types.
pub struct Api {
    http: reqwest::Client,
    base: String,
    pub cookie: String,
}

impl Api {
    /// Signs up a fresh account and keeps its session cookie.
    pub async fn sign_up(base: &str, username: &str) -> Result<Api> {
        let http = reqwest::Client::new();
        let signup = http
            .post(format!("{base}/api/v1/auth/signup"))
            .header("origin", base)
            .json(&serde_json::json!({ "username": username, "password": "benchmark password" }))
            .send()
            .await?;
        if !signup.status().is_success() {
            bail!("sign-up failed: {}", signup.text().await?);
        }
        let cookie = signup
            .headers()
            .get("set-cookie")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no session cookie"))?;
        Ok(Api { http, base: base.to_owned(), cookie })
    }

    /// Sends a request that must succeed and reads its answer as a `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let text = self.text(method.clone(), path, body).await?;
        serde_json::from_str(if text.is_empty() { "null" } else { &text })
            .with_context(|| format!("{method} {path}: {text}"))
    }

    /// The answer's body as text (a successful one; else an error).
    pub async fn text(&self, method: Method, path: &str, body: Option<serde_json::Value>) -> Result<String> {
        let bytes = self.bytes(method, path, body).await?;
        String::from_utf8(bytes.to_vec()).context("an answer that is not UTF-8")
    }

    /// The answer's body, read to its last byte and left as bytes (a successful one;
    /// else an error).
    pub async fn bytes(&self, method: Method, path: &str, body: Option<serde_json::Value>) -> Result<bytes::Bytes> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .header("origin", &self.base)
            .header("cookie", &self.cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status} {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes)
    }
}

/// p50 and p95 in milliseconds.
pub fn percentiles(times: &mut [Duration]) -> (f64, f64) {
    times.sort();
    (percentile(times, 0.5), percentile(times, 0.95))
}

/// The `share` percentile of sorted `times`, in milliseconds.
pub fn percentile(sorted: &[Duration], share: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * share).round() as usize].as_secs_f64() * 1000.0
}
