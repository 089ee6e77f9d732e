//! The JSON body extractor every endpoint uses: bounded size ([`JsonLimit`], 1 MiB unless a route
//! says otherwise), `Content-Type: application/json` (or any `+json`) required, and errors that
//! say where: line and column for malformed JSON, the field's path for a wrong type or a missing
//! field.
//!
//! A route that accepts larger bodies sets its own limit:
//! `web::resource("/api/v1/…").app_data(JsonLimit(64 << 20))`.

use super::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_core::Stream;
use futures_core::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::pin::Pin;

/// The default body limit: 1 MiB.
pub const DEFAULT_LIMIT: usize = 1 << 20;

/// A too-large body is still read (and thrown away) up to this many bytes, so that the client
/// sees the 413 instead of a connection reset; beyond it the connection is dropped.
const DRAIN_LIMIT: usize = 16 << 20;

/// The most bytes a route accepts in a JSON body (an `app_data` on the app or a resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimit(pub usize);

impl Default for JsonLimit {
    fn default() -> Self {
        JsonLimit(DEFAULT_LIMIT)
    }
}

/// A JSON request body deserialised into `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Json<T>, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<JsonLimit>().copied().unwrap_or_default().0;
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("(not text)").to_string());
        let length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            match content_type {
                Some(ct) if is_json(&ct) => {}
                Some(ct) => {
                    return Err(ApiError::UnsupportedMediaType {
                        detail: format!("the body must be application/json, not {ct}"),
                    });
                }
                None => {
                    return Err(ApiError::UnsupportedMediaType {
                        detail: "the body must be JSON: send Content-Type: application/json".into(),
                    });
                }
            }
            let body = read_limited(&mut payload, limit, length).await?;
            parse(&body)
        })
    }
}

async fn next_chunk(
    payload: &mut Payload,
) -> Option<Result<Bytes, actix_web::error::PayloadError>> {
    std::future::poll_fn(|cx| Pin::new(&mut *payload).poll_next(cx)).await
}

/// Reads a whole body of at most `limit` bytes (413 `payload_too_large` beyond).
pub async fn read_limited(
    payload: &mut Payload,
    limit: usize,
    declared: Option<usize>,
) -> Result<Bytes, ApiError> {
    let too_large = ApiError::PayloadTooLarge { limit };
    if declared.is_some_and(|n| n > limit) {
        drain(payload, declared.unwrap_or(0)).await;
        return Err(too_large);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = next_chunk(payload).await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            detail: format!("cannot read the request body: {e}"),
        })?;
        if body.len() + chunk.len() > limit {
            drain(payload, body.len() + chunk.len()).await;
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads and discards the rest of a body, up to [`DRAIN_LIMIT`] in all.
async fn drain(payload: &mut Payload, mut seen: usize) {
    while seen <= DRAIN_LIMIT {
        match next_chunk(payload).await {
            Some(Ok(chunk)) => seen += chunk.len(),
            _ => return,
        }
    }
}

/// Deserialises a body, classifying errors: syntax → `malformed_json` (with line and column);
/// a missing field → `missing_field`; a wrong type or value → `invalid_field` naming the field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<Json<T>, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        classify(e.into_inner(), &path)
    })?;
    de.end().map_err(|e| classify(e, "."))?;
    Ok(Json(value))
}

fn classify(e: serde_json::Error, path: &str) -> ApiError {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    let message = strip_position(&e.to_string());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson {
            detail: if body_is_empty(&e) {
                "the body is empty: send a JSON object".into()
            } else {
                format!("malformed JSON at {at}: {message}")
            },
        },
        Category::Data => {
            if let Some(name) = missing_field(&message) {
                let field = if path == "." {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                return ApiError::MissingField { field };
            }
            ApiError::InvalidField {
                field: (path != ".").then(|| path.to_string()),
                detail: format!("{message} ({at})"),
            }
        }
    }
}

fn body_is_empty(e: &serde_json::Error) -> bool {
    e.classify() == serde_json::error::Category::Eof && e.line() == 1 && e.column() == 0
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        count: Option<u32>,
        nested: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        tags: Vec<String>,
    }

    fn err(body: &str) -> ApiError {
        parse::<Body>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn malformed_json_says_line_and_column() {
        let e = err("{\n  \"username\": \"a\",\n  oops\n}");
        assert_eq!(e.code(), "malformed_json");
        assert!(e.to_string().contains("line 3, column 3"), "{e}");
        assert_eq!(err("").to_string(), "the body is empty: send a JSON object");
        assert_eq!(err("{\"username\": \"a\"} x").code(), "malformed_json");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = err(r#"{"username": 5}"#);
        assert_eq!(e.code(), "invalid_field");
        assert_eq!(e.field().as_deref(), Some("username"));
        assert!(e.to_string().contains("expected a string"), "{e}");
        let e = err(r#"{"username": "a", "nested": {"tags": ["x", 3]}}"#);
        assert_eq!(e.field().as_deref(), Some("nested.tags[1]"));
        let e = err(r#"{"username": "a", "count": -1}"#);
        assert_eq!(e.field().as_deref(), Some("count"));
        let e = err("[]");
        assert_eq!(e.code(), "invalid_field");
        assert_eq!(e.field(), None);
    }

    #[test]
    fn missing_fields_are_named() {
        let e = err("{}");
        assert_eq!(e.code(), "missing_field");
        assert_eq!(e.field().as_deref(), Some("username"));
        let e = err(r#"{"username": "a", "nested": {}}"#);
        assert_eq!(e.field().as_deref(), Some("nested.tags"));
    }

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
