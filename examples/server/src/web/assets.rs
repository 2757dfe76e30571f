//! Static files, compiled in: the vendored htmx, the pages' own script, the style sheet and
//! the web fonts (Amiri subset to Latin and Arabic as WOFF2, `assets/fonts/README.md`).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
const CSS: &[u8] = include_bytes!("../../assets/app.css");
const JS: &[u8] = include_bytes!("../../assets/app.js");
const NASKH_REGULAR: &[u8] = include_bytes!("../../assets/fonts/crm-naskh-regular.woff2");
const NASKH_BOLD: &[u8] = include_bytes!("../../assets/fonts/crm-naskh-bold.woff2");

fn file(body: &'static [u8], content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

pub async fn htmx() -> Response {
    file(HTMX, "text/javascript; charset=utf-8")
}

pub async fn js() -> Response {
    file(JS, "text/javascript; charset=utf-8")
}

pub async fn css() -> Response {
    file(CSS, "text/css; charset=utf-8")
}

pub async fn naskh_regular() -> Response {
    file(NASKH_REGULAR, "font/woff2")
}

pub async fn naskh_bold() -> Response {
    file(NASKH_BOLD, "font/woff2")
}
