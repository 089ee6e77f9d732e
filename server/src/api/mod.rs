//! The HTTP API (actix-web): JSON under `/api/v1`, described by the OpenAPI document at
//! `GET /api/v1/openapi.json` (Swagger UI at `/api/v1/docs/`), plus `GET /healthz` and the
//! dashboard's page and files under `/` and `/app/` ([`crate::dashboard`]).
//!
//! Adding an endpoint:
//! 1. write the handler in a module here, taking [`Actor`](crate::auth::Actor) (signed-in users;
//!    check permissions with its `require_*` methods), [`Json<T>`](json::Json) for the body, and
//!    `web::Data<AppState>`; do database work with [`AppState::db`] (runs in `web::block`);
//!    return `Result<_, ApiError>`;
//! 2. document it with `#[utoipa::path(...)]`: a unique `operation_id`, the request body, every
//!    response (errors as `Problem` with `content_type = "application/problem+json"`), and
//!    `security(("bearer" = []))` when it needs a token;
//! 3. route it in [`configure`] (one `web::resource` per path, so that a wrong method is a 405);
//! 4. list it in [`ApiDoc`]'s `paths(...)` — `ROUTES` and the test beside it keep the two in step.

pub mod coverage;
pub mod error;
pub mod forms;
pub mod frame;
pub mod health;
pub mod json;
pub mod me;
pub mod projects;
pub mod review;
pub mod sessions;
pub mod sync;
pub mod users;

use crate::auth::{self, Actor, AuthError, AuthSettings};
use crate::db::{Backend, DbConnection, DbPool};
use crate::store::StoreError;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{Compress, ErrorHandlers, Next, from_fn};
use actix_web::{App, FromRequest, HttpRequest, HttpResponse, web};
pub use error::{ApiError, Problem};
use futures_core::future::LocalBoxFuture;
pub use json::{Json, JsonLimit};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler can reach: the pool and the settings.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub pool: DbPool,
    /// Which database it is.
    pub backend: Backend,
    /// Accounts and sessions.
    pub auth: Arc<AuthSettings>,
    /// What the dashboard page is told (`/app/config.json`).
    pub dashboard: Arc<crate::dashboard::DashboardConfig>,
}

impl AppState {
    /// State over a pool.
    pub fn new(pool: DbPool, backend: Backend, auth: AuthSettings) -> AppState {
        AppState {
            pool,
            backend,
            auth: Arc::new(auth),
            dashboard: Arc::default(),
        }
    }

    /// The same state, telling the dashboard `config` (the optional basemap).
    #[must_use]
    pub fn with_dashboard(mut self, config: crate::dashboard::DashboardConfig) -> AppState {
        self.dashboard = Arc::new(config);
        self
    }

    /// Runs blocking database work on actix's blocking thread pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
        .map_err(ApiError::from)
    }
}

/// Runs CPU-bound work (parsing an upload, computing a report) on actix's blocking thread pool.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))
}

/// The signed-in user behind `Authorization: Bearer <token>`; 401 with `token_missing`,
/// `token_invalid`, `token_expired`, `token_revoked` or `account_disabled` otherwise.
impl FromRequest for Actor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Actor, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = match req.headers().get(header::AUTHORIZATION) {
            None => Err(AuthError::Missing),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(auth::token::from_authorization)
                .map(str::to_string)
                .ok_or(AuthError::Invalid),
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("no application state"))?;
            let token = token?;
            let now = crate::db::now_ms();
            state
                .db(move |conn| auth::authenticate(conn, &token, now))
                .await
        })
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2026-05-01T08:30:00.000Z`), as the API shows
/// times.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Every documented route: (method, path as in the OpenAPI document).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("post", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/current"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/projects"),
    ("post", "/api/v1/projects"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("get", "/api/v1/projects/{project}/forms"),
    ("post", "/api/v1/projects/{project}/forms"),
    ("get", "/api/v1/projects/{project}/forms/{form_id}"),
    ("post", "/api/v1/projects/{project}/listing"),
    ("get", "/api/v1/projects/{project}/listing"),
    ("get", "/api/v1/projects/{project}/areas"),
    ("get", "/api/v1/projects/{project}/selfcheck"),
    ("post", "/api/v1/projects/{project}/frames"),
    ("post", "/api/v1/projects/{project}/samples"),
    ("get", "/api/v1/projects/{project}/reserve"),
    ("post", "/api/v1/projects/{project}/reserve/release"),
    ("post", "/api/v1/projects/{project}/assignments"),
    ("get", "/api/v1/projects/{project}/coverage"),
    ("get", "/api/v1/projects/{project}/coverage.geojson"),
    (
        "get",
        "/api/v1/projects/{project}/exports/{form_id}/interviews.csv",
    ),
    (
        "get",
        "/api/v1/projects/{project}/exports/{form_id}/repeats/{group}.csv",
    ),
    ("post", "/api/v1/projects/{project}/sync/push"),
    ("post", "/api/v1/projects/{project}/sync/pull"),
    ("get", "/api/v1/projects/{project}/interviews"),
    ("get", "/api/v1/projects/{project}/interviews/{id}"),
    ("post", "/api/v1/projects/{project}/interviews/{id}/approve"),
    ("post", "/api/v1/projects/{project}/interviews/{id}/return"),
    ("post", "/api/v1/projects/{project}/interviews/{id}/reopen"),
    ("get", "/api/v1/projects/{project}/conflicts"),
    (
        "post",
        "/api/v1/projects/{project}/conflicts/{conflict}/resolve",
    ),
    ("get", "/api/v1/projects/{project}/refusals"),
];

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mapframe",
        description = "Map-based household surveys: listing, sampling, interviews, supervision.\n\n\
                       Sign in with `POST /api/v1/sessions`, then send `Authorization: Bearer <token>`. \
                       Errors are `application/problem+json` with a stable `code`."
    ),
    paths(
        health::healthz,
        sessions::create,
        sessions::delete_current,
        me::get,
        projects::list,
        projects::create,
        users::list,
        users::create,
        users::get,
        forms::upload,
        forms::list,
        forms::get,
        frame::import,
        frame::export,
        frame::areas,
        frame::selfcheck,
        frame::freeze,
        frame::draw,
        frame::reserve,
        frame::release,
        frame::assign,
        coverage::report,
        coverage::map,
        coverage::interviews,
        coverage::repeat,
        sync::push,
        sync::pull,
        review::list,
        review::get,
        review::approve,
        review::return_,
        review::reopen,
        review::conflicts,
        review::resolve,
        review::refusals,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Is the server up"),
        (name = "sessions", description = "Signing in and out"),
        (name = "users", description = "Accounts"),
        (name = "projects", description = "Surveys"),
        (name = "forms", description = "Questionnaires (XLSForm), every version kept"),
        (name = "frame", description = "Listing, self-check, frames, samples and assignments"),
        (name = "coverage", description = "Coverage, quality flags and exports"),
        (name = "sync", description = "Phones push operations and pull changes"),
        (name = "review", description = "Interviews, conflicts and refusals for supervisors"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Adds the bearer-token security scheme.
#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token from POST /api/v1/sessions (opaque, 43 characters)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Registers every route (and the OpenAPI document and Swagger UI).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        SwaggerUi::new("/api/v1/docs/{_:.*}").url("/api/v1/openapi.json", ApiDoc::openapi()),
    )
    .service(web::resource("/api/v1/docs").route(web::get().to(|| async {
        HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, "/api/v1/docs/"))
            .finish()
    })))
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz))
            .route(web::head().to(health::healthz)),
    )
    .service(web::resource("/api/v1/sessions").route(web::post().to(sessions::create)))
    .service(
        web::resource("/api/v1/sessions/current").route(web::delete().to(sessions::delete_current)),
    )
    .service(web::resource("/api/v1/me").route(web::get().to(me::get)))
    .service(
        web::resource("/api/v1/projects")
            .route(web::get().to(projects::list))
            .route(web::post().to(projects::create)),
    )
    .service(
        web::resource("/api/v1/users")
            .route(web::get().to(users::list))
            .route(web::post().to(users::create)),
    )
    .service(web::resource("/api/v1/users/{id}").route(web::get().to(users::get)))
    .service(
        web::resource("/api/v1/projects/{project}/forms")
            .app_data(web::PayloadConfig::new(forms::UPLOAD_LIMIT))
            .route(web::get().to(forms::list))
            .route(web::post().to(forms::upload)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/forms/{form_id}")
            .route(web::get().to(forms::get)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/listing")
            .app_data(web::PayloadConfig::new(frame::LISTING_LIMIT))
            .route(web::post().to(frame::import))
            .route(web::get().to(frame::export)),
    )
    .service(web::resource("/api/v1/projects/{project}/areas").route(web::get().to(frame::areas)))
    .service(
        web::resource("/api/v1/projects/{project}/selfcheck")
            .route(web::get().to(frame::selfcheck)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/frames").route(web::post().to(frame::freeze)),
    )
    .service(web::resource("/api/v1/projects/{project}/samples").route(web::post().to(frame::draw)))
    .service(
        web::resource("/api/v1/projects/{project}/reserve").route(web::get().to(frame::reserve)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/reserve/release")
            .route(web::post().to(frame::release)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/assignments")
            .route(web::post().to(frame::assign)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/coverage").route(web::get().to(coverage::report)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/coverage.geojson")
            .route(web::get().to(coverage::map)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/exports/{form_id}/interviews.csv")
            .route(web::get().to(coverage::interviews)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/exports/{form_id}/repeats/{group}.csv")
            .route(web::get().to(coverage::repeat)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/sync/push").route(web::post().to(sync::push)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/sync/pull").route(web::post().to(sync::pull)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/interviews").route(web::get().to(review::list)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/interviews/{id}")
            .route(web::get().to(review::get)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/interviews/{id}/approve")
            .route(web::post().to(review::approve)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/interviews/{id}/return")
            .route(web::post().to(review::return_)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/interviews/{id}/reopen")
            .route(web::post().to(review::reopen)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/conflicts")
            .route(web::get().to(review::conflicts)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/conflicts/{conflict}/resolve")
            .route(web::post().to(review::resolve)),
    )
    .service(
        web::resource("/api/v1/projects/{project}/refusals").route(web::get().to(review::refusals)),
    );
}

/// The whole application: routes, limits, problem+json for every error, compression, request
/// logs.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let bad_request =
        |detail: String| -> actix_web::Error { ApiError::BadRequest { detail }.into() };
    App::new()
        .app_data(web::Data::new(state))
        .app_data(JsonLimit::default())
        .app_data(web::PathConfig::default().error_handler(move |e, _| bad_request(e.to_string())))
        .app_data(web::QueryConfig::default().error_handler(move |e, _| bad_request(e.to_string())))
        .app_data(
            web::JsonConfig::default()
                .limit(json::DEFAULT_LIMIT)
                .error_handler(move |e, _| bad_request(e.to_string())),
        )
        .configure(configure)
        .configure(crate::dashboard::configure)
        .default_service(web::to(|req: HttpRequest| async move {
            Err::<HttpResponse, _>(ApiError::NotFound {
                detail: format!("no such resource: {}", req.path()),
            })
        }))
        .wrap(ErrorHandlers::new().default_handler(error::problem_for_plain_errors))
        .wrap(Compress::default())
        .wrap(from_fn(log_request))
}

async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let res = next.call(req).await?;
    tracing::info!(
        target: "mapframe::http",
        %method,
        %path,
        status = res.status().as_u16(),
        ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_every_documented_route_is_listed() {
        let doc = ApiDoc::openapi();
        let mut documented: Vec<(String, String)> = Vec::new();
        let json = serde_json::to_value(&doc).unwrap();
        for (path, item) in json["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut listed: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        listed.sort();
        assert_eq!(documented, listed);
    }

    #[test]
    fn operation_ids_are_unique() {
        let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut ids: Vec<&str> = json["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap_or("(none)"))
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{ids:?}");
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_777_624_200_123), "2026-05-01T08:30:00.123Z");
    }
}
