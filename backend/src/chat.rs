//! An OpenAI-compatible chat endpoint (`POST {url}/chat/completions`), when the operator
//! configures one (`CHARTER_CHAT_URL`, `_MODEL`, `_KEY`): it proposes wording that people
//! then review. One try with a timeout, no redirects, a bounded answer.

use std::sync::LazyLock;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

/// How long a proposal may take: someone is waiting for their draft.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The longest answer taken: a requirement and its scenarios, not an essay.
const MAX_ANSWER_CHARS: usize = 4_000;
/// The most of the endpoint's reply read: a completion of `MAX_TOKENS` with its envelope
/// fits many times over.
const MAX_REPLY_BYTES: usize = 64 * 1024;
const MAX_TOKENS: u32 = 700;

/// One client for every request, so connections are reused. No proxy from the
/// environment: the operator names the endpoint itself.
static CLIENT: LazyLock<reqwest::Result<reqwest::Client>> = LazyLock::new(|| {
    reqwest::Client::builder().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).no_proxy().build()
});

/// Where to ask.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatEndpoint {
    /// The API's base address, as OpenAI clients take it (`https://api.openai.com/v1`).
    pub url: String,
    pub model: String,
    /// Sent as a bearer token, when set.
    pub key: Option<String>,
}

/// Everything but the key, which never reaches a log.
impl std::fmt::Debug for ChatEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatEndpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| "…"))
            .finish()
    }
}

#[derive(Deserialize)]
struct Answer {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

impl ChatEndpoint {
    /// What the model answers to `instructions` and `prompt`, trimmed and bounded; the
    /// error says why in words for the server's log.
    pub async fn complete(&self, instructions: &str, prompt: &str) -> Result<String, String> {
        let client = CLIENT.as_ref().map_err(|err| format!("cannot make an HTTP client: {err}"))?;
        let mut request = client.post(format!("{}/chat/completions", self.url.trim_end_matches('/'))).json(&json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0.2,
            "max_tokens": MAX_TOKENS,
        }));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let mut response = request.send().await.map_err(|err| format!("the chat endpoint did not answer: {err}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the chat endpoint answered {status}"));
        }
        let mut reply = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|err| format!("the chat endpoint's answer broke off: {err}"))?
        {
            if reply.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(format!("the chat endpoint's answer is longer than {} KiB", MAX_REPLY_BYTES / 1024));
            }
            reply.extend_from_slice(&chunk);
        }
        let answer: Answer = serde_json::from_slice(&reply)
            .map_err(|err| format!("the chat endpoint's answer is not a completion: {err}"))?;
        let text = answer
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .map(|text| text.trim().chars().take(MAX_ANSWER_CHARS).collect::<String>())
            .filter(|text| !text.is_empty())
            .ok_or("the chat endpoint answered with no text")?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endpoint of the test's own that answers every completion with `body`.
    async fn endpoint(body: String) -> ChatEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let answer = move || {
            let body = body.clone();
            async move { body }
        };
        let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(answer));
        tokio::spawn(async move { axum::serve(listener, app).await });
        ChatEndpoint { url, model: "spec-writer-1".into(), key: None }
    }

    fn completion(text: &str) -> String {
        json!({ "choices": [{ "message": { "role": "assistant", "content": text } }] }).to_string()
    }

    #[tokio::test]
    async fn a_chat_answer_is_read_up_to_64_kib_and_cut_to_4000_characters() {
        let short = endpoint(completion("  Refunds take at most 5 days.\n")).await;
        assert_eq!(short.complete("write", "refunds").await.unwrap(), "Refunds take at most 5 days.");
        let long = endpoint(completion(&"é".repeat(20_000))).await;
        assert_eq!(long.complete("write", "refunds").await.unwrap(), "é".repeat(MAX_ANSWER_CHARS));
        let huge = endpoint(completion(&"a".repeat(MAX_REPLY_BYTES))).await;
        let err = huge.complete("write", "refunds").await.unwrap_err();
        assert_eq!(err, "the chat endpoint's answer is longer than 64 KiB");
        let broken = endpoint("{\"choices\": [".into()).await;
        let err = broken.complete("write", "refunds").await.unwrap_err();
        assert!(err.starts_with("the chat endpoint's answer is not a completion"), "{err}");
    }
}
