//! Static files, compiled in: the vendored htmx, the pages' own script, the style sheet and
//! the Amiri font.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
const CSS: &[u8] = include_bytes!("../../assets/app.css");
const JS: &[u8] = include_bytes!("../../assets/app.js");
const AMIRI_REGULAR: &[u8] = include_bytes!("../../../../crm-core/assets/fonts/Amiri-Regular.ttf");
const AMIRI_BOLD: &[u8] = include_bytes!("../../../../crm-core/assets/fonts/Amiri-Bold.ttf");

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

pub async fn amiri_regular() -> Response {
    file(AMIRI_REGULAR, "font/ttf")
}

pub async fn amiri_bold() -> Response {
    file(AMIRI_BOLD, "font/ttf")
}
