//! A small blocking HTTP client for tests against a real `mapframe serve` (loopback only, no
//! TLS): every status is a [`Reply`], never an error, so tests assert on statuses and problem
//! codes directly.

use serde_json::Value;
use std::time::Duration;

/// A client for one server, optionally signed in.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    token: Option<String>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The body bytes (as sent: not decompressed).
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// Whether this is an `application/problem+json` response.
    pub fn is_problem(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json"))
    }

    /// The problem's `code` (panics unless this is a problem response).
    pub fn code(&self) -> String {
        assert!(
            self.is_problem(),
            "status {}, content-type {:?}: not a problem: {}",
            self.status,
            self.header("content-type"),
            self.text()
        );
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text())
    }
}

impl Client {
    /// A client for `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_redirects(0)
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent,
            token: None,
        }
    }

    /// The same client, giving each request up to `limit` (60 s by default).
    pub fn with_timeout(&self, limit: Duration) -> Client {
        Client {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(limit))
                .max_redirects(0)
                .build()
                .into(),
            ..self.clone()
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The token this client sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Any request: method, path, extra headers, body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        if let Some(token) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let result = match body {
            Some(bytes) => self
                .agent
                .run(builder.body(bytes).expect("a valid request")),
            None => self.agent.run(builder.body(()).expect("a valid request")),
        };
        let response = result.unwrap_or_else(|e| panic!("{method} {path}: no HTTP response: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let bytes = response
            .into_body()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{method} {path}: cannot read the body: {e}"));
        Reply {
            status,
            headers,
            bytes,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Reply {
        self.request("DELETE", path, &[], None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, "application/json", body.to_string().into_bytes())
    }

    /// `POST path` with any body and content type.
    pub fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.request("POST", path, &[("Content-Type", content_type)], Some(body))
    }

    /// Signs in (`POST /api/v1/sessions`) and returns a client carrying the token, or the reply
    /// if sign-in failed.
    pub fn sign_in(&self, username: &str, password: &str) -> Result<Client, Reply> {
        self.sign_in_with(&serde_json::json!({"username": username, "password": password}))
    }

    /// Signs in with any body (to name a device).
    pub fn sign_in_with(&self, body: &Value) -> Result<Client, Reply> {
        let reply = self.post("/api/v1/sessions", body);
        if reply.status != 201 {
            return Err(reply);
        }
        let token = reply.json()["token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(self.with_token(&token))
    }
}
