//! The browser pages: the dashboard (`GET /`) and GraphiQL (`GET /graphql` for
//! browsers), and their static files (`GET /assets/{version}/…`), all embedded
//! in the binary so no request leaves the origin.
//!
//! Every file lives under one versioned prefix, `/assets/<version>/`, where the
//! version is a hash over all embedded files. The pages name that prefix, so the
//! files can be cached for a year (`immutable`): a new build has a new prefix.
//! Relative `import`s between the dashboard's modules stay inside the prefix.
//! A request under another version (a page cached across an upgrade) still gets
//! today's file, with `no-cache`.
//!
//! The pages carry a strict `Content-Security-Policy`: scripts, styles and
//! connections only from the origin, no inline script, no other origin at all.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file: its path under `assets/` and its bytes.
type File = (&'static str, &'static [u8]);

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)) as &[u8])),*]
    };
}

/// Every file served under `/assets/<version>/`. A test checks that this list
/// and the `assets/` folder agree (apart from the page templates).
static FILES: &[File] = files![
    "dashboard/app.css",
    "dashboard/app.js",
    "dashboard/charts.js",
    "dashboard/format.js",
    "dashboard/queries.js",
    "dashboard/views.js",
    "graphiql/init.js",
    "graphiql/graphiql.css",
    "vendor/graphiql-3.9.0/graphiql.min.css",
    "vendor/graphiql-3.9.0/graphiql.min.js",
    "vendor/graphiql-3.9.0/LICENSE",
    "vendor/react-18.3.1/react.production.min.js",
    "vendor/react-18.3.1/LICENSE",
    "vendor/react-dom-18.3.1/react-dom.production.min.js",
    "vendor/react-dom-18.3.1/LICENSE",
];

/// The page templates; `{{assets}}` becomes `/assets/<version>`.
const DASHBOARD_HTML: &str = include_str!("../../assets/dashboard/index.html");
const GRAPHIQL_HTML: &str = include_str!("../../assets/graphiql/index.html");

/// The policy of both pages. GraphiQL and the dashboard need nothing else:
/// `data:` fonts and images are GraphiQL's embedded icons and typefaces.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The paths of the embedded files (for tests and docs).
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

/// The hash of every embedded file (12 hex digits): the assets' URL prefix.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for (path, bytes) in FILES {
            h.update(path.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        h.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

fn page(template: &'static str, cell: &'static OnceLock<String>) -> Response {
    let html =
        cell.get_or_init(|| template.replace("{{assets}}", &format!("/assets/{}", version())));
    let mut resp = (StatusCode::OK, html.as_str()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    // The page names this build's asset prefix, so it must be revalidated.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// `GET /`: the dashboard.
pub fn dashboard() -> Response {
    static HTML: OnceLock<String> = OnceLock::new();
    page(DASHBOARD_HTML, &HTML)
}

/// `GET /graphql` for a browser: GraphiQL.
pub fn graphiql() -> Response {
    static HTML: OnceLock<String> = OnceLock::new();
    page(GRAPHIQL_HTML, &HTML)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

/// `GET /assets/{version}/{*path}`.
pub async fn asset(Path((v, path)): Path<(String, String)>) -> Response {
    let Some((_, bytes)) = FILES.iter().find(|(p, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let cache = if v == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut resp = (StatusCode::OK, *bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
