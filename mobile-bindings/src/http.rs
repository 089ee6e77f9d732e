//! HTTP from Rust: a small blocking client over `ureq` with bounded retries.
//!
//! Every request is retried on transport errors and on 408, 429 and 5xx answers, with an
//! exponential backoff capped at [`RetryPolicy::max_delay_ms`] and at most
//! [`RetryPolicy::attempts`] attempts, so a sync never hangs for long on a dead link. Only
//! idempotent exchanges go through here: pushes are recognised by operation id on the server, so
//! sending one twice (the answer was lost) is safe.

use crate::error::HttpError;
use std::time::Duration;

/// The largest answer read (a pull page of a whole area is a few MiB).
const MAX_BODY: u64 = 64 << 20;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (at least 1).
    pub attempts: u32,
    /// Delay before the first retry; doubled after each failure.
    pub base_delay_ms: u64,
    /// The longest delay between two attempts.
    pub max_delay_ms: u64,
    /// Timeout of one attempt (connect, send and read).
    pub timeout_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay_ms: 500,
            max_delay_ms: 8_000,
            timeout_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u64 << n.saturating_sub(1).min(20);
        Duration::from_millis(
            self.base_delay_ms
                .saturating_mul(factor)
                .min(self.max_delay_ms),
        )
    }
}

/// A server and a token.
#[derive(Debug)]
pub struct Http {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    retry: RetryPolicy,
    /// Attempts made (all requests), for reports.
    pub attempts: u32,
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Http {
    /// A client of `base` (`http://host:port`, no trailing slash needed).
    pub fn new(base: &str, token: Option<String>, retry: RetryPolicy) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_millis(retry.timeout_ms.max(1))))
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_string(),
            token,
            retry,
            attempts: 0,
        }
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        content_type: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, HttpError> {
        let transport = |e: ureq::Error| HttpError::Transport {
            url: url.to_string(),
            message: e.to_string(),
        };
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = if method == "GET" {
            let mut rb = self.agent.get(url).header("Accept", content_type);
            if let Some(a) = &auth {
                rb = rb.header("Authorization", a);
            }
            rb.call()
        } else {
            let mut rb = self
                .agent
                .post(url)
                .header("Accept", content_type)
                .header("Content-Type", content_type);
            if let Some(a) = &auth {
                rb = rb.header("Authorization", a);
            }
            rb.send(body.unwrap_or_default())
        };
        let mut resp = result.map_err(transport)?;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(transport)?;
        if status >= 400 {
            let (code, message) = problem(&body);
            return Err(HttpError::Status {
                url: url.to_string(),
                status,
                code,
                message,
            });
        }
        Ok(Answer {
            status,
            content_type: ct,
            body,
        })
    }

    /// A request with retries. `body` `None` is a GET.
    pub fn request(
        &mut self,
        path: &str,
        content_type: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, HttpError> {
        let url = format!("{}{}", self.base, path);
        let method = if body.is_some() { "POST" } else { "GET" };
        let attempts = self.retry.attempts.max(1);
        let mut n = 0;
        loop {
            n += 1;
            self.attempts += 1;
            match self.once(method, &url, content_type, body) {
                Ok(a) => return Ok(a),
                Err(e) if e.retryable() && n < attempts => {
                    std::thread::sleep(self.retry.delay(n));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The `code` and `detail` (or `title`) of an RFC 9457 problem body, as far as it has them.
fn problem(body: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    (
        text("code").unwrap_or_default(),
        text("detail")
            .or_else(|| text("title"))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
            timeout_ms: 1_000,
        };
        let cases = [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1_000),
            (40, 1_000),
        ];
        for (n, ms) in cases {
            assert_eq!(p.delay(n), Duration::from_millis(ms), "attempt {n}");
        }
    }

    #[test]
    fn problems_give_their_code_and_detail() {
        let cases: [(&[u8], &str, &str); 3] = [
            (
                br#"{"code":"bad_credentials","detail":"wrong password","title":"Unauthorized"}"#,
                "bad_credentials",
                "wrong password",
            ),
            (br#"{"title":"Not Found"}"#, "", "Not Found"),
            (b"oops", "", "oops"),
        ];
        for (body, code, msg) in cases {
            assert_eq!(problem(body), (code.to_string(), msg.to_string()));
        }
    }

    #[test]
    fn a_dead_server_is_retried_then_reported_as_unreachable() {
        // A port nobody listens on: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut http = Http::new(
            &format!("http://127.0.0.1:{port}"),
            None,
            RetryPolicy {
                attempts: 3,
                base_delay_ms: 1,
                max_delay_ms: 2,
                timeout_ms: 2_000,
            },
        );
        let e = http
            .request("/healthz", "application/json", None)
            .unwrap_err();
        assert!(e.retryable(), "{e}");
        assert_eq!(http.attempts, 3);
    }
}
