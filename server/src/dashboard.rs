//! The supervisor dashboard: a single-page app served from files embedded in the binary.
//!
//! `build.rs` copies `web/src/` and Leaflet's dist files into `OUT_DIR` and generates the table
//! [`ASSETS`]. Routes: `/` and `/app/` are the page; `/app/<file>` its files; any other
//! `/app/<path>` without a file extension is the page too (a bookmarked view);
//! `/app/config.json` tells the page what the server was started with (the optional tile URL).
//! Nothing the page loads comes from elsewhere, so it works on a network without internet.
//!
//! Every file is sent with a strong ETag (a hash of its bytes, computed at build time) and
//! `Cache-Control: no-cache`: the browser keeps a copy but asks each time, and gets a bodiless
//! 304 while the binary is the same — file names carry no version, so a longer lifetime would
//! show an old page after an upgrade. Compression is the app's `Compress` middleware.

use crate::api::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path under `/app/` (`app.css`, `vendor/leaflet/leaflet.js`).
    pub path: &'static str,
    /// The bytes.
    pub bytes: &'static [u8],
    /// A quoted strong ETag.
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// What the page is told at `/app/config.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DashboardConfig {
    /// A tile URL template for the basemap (`https://…/{z}/{x}/{y}.png`); none by default, so
    /// that the page requests nothing outside this server.
    pub tiles: Option<String>,
    /// The attribution shown on the map for those tiles.
    pub tiles_attribution: Option<String>,
}

/// The embedded file at `path` (relative to `/app/`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The media type of a file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Registers `/`, `/app/…` and `/app/config.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(index))
            .route(web::head().to(index)),
    )
    .service(web::resource("/app").route(web::get().to(|| async {
        HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, "/app/"))
            .finish()
    })))
    .service(web::resource("/app/config.json").route(web::get().to(config)))
    .service(
        web::resource("/app/{path:.*}")
            .route(web::get().to(file))
            .route(web::head().to(file)),
    );
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    send(&req, "index.html")
}

async fn config(state: web::Data<crate::api::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&*state.dashboard)
}

async fn file(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    if asset(&path).is_some() {
        return send(&req, &path);
    }
    // A view's own address (`/app/projects/…`) is the page; a missing file is a 404.
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.is_empty() || !last.contains('.') {
        return send(&req, "index.html");
    }
    Err(ApiError::NotFound {
        detail: format!("no such file: /app/{path}"),
    })
}

fn send(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let a = asset(path).ok_or_else(|| ApiError::internal(format!("{path} is not embedded")))?;
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, HeaderValue::from_static(a.etag)))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-content-type-options", "nosniff"));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res.content_type(content_type(path)).body(a.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_leaflet_are_embedded() {
        for path in [
            "index.html",
            "app.css",
            "main.js",
            "api.js",
            "vendor/leaflet/leaflet.js",
            "vendor/leaflet/leaflet.css",
            "vendor/leaflet/images/marker-icon.png",
        ] {
            let a = asset(path).unwrap_or_else(|| panic!("{path} is not embedded"));
            assert!(!a.bytes.is_empty(), "{path}");
            assert!(a.etag.starts_with('"') && a.etag.ends_with('"'), "{path}");
        }
    }

    #[test]
    fn every_embedded_file_has_a_known_type() {
        for a in ASSETS {
            assert_ne!(
                content_type(a.path),
                "application/octet-stream",
                "{}",
                a.path
            );
        }
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // The page must work without internet: no absolute URL in our own files.
        for a in ASSETS.iter().filter(|a| !a.path.starts_with("vendor/")) {
            // An XML namespace is a name, not a request.
            let text = std::str::from_utf8(a.bytes)
                .unwrap_or_default()
                .replace("http://www.w3.org/2000/svg", "");
            for needle in ["http://", "https://", "//cdn", "fonts.googleapis"] {
                assert!(!text.contains(needle), "{} contains {needle}", a.path);
            }
        }
    }
}
