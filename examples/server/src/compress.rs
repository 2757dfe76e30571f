//! gzip for text responses (pages, JSON, the style sheet and scripts) when the client takes
//! it: a page of leads is a tenth of its size on the wire, which a phone on a mobile network
//! feels. Bodies of unknown length (streamed downloads) and binary ones (fonts, XLSX, PDF,
//! already compressed) pass as they are. Written on flate2 (already in the build through the
//! exports) rather than adding tower-http for one layer.

use std::io::Write;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, VARY,
};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Smaller bodies gain less than the header costs.
const MIN_BYTES: u64 = 860;
/// Larger bodies are downloads, read in full here otherwise.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Whether an `Accept-Encoding` value takes gzip: listed (or `*`) with a weight above 0.
pub fn takes_gzip(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && weight > 0.0
    })
}

fn compressible(content_type: &str) -> bool {
    let t = content_type.split(';').next().unwrap_or_default().trim();
    t.starts_with("text/")
        || matches!(
            t,
            "application/json" | "application/problem+json" | "image/svg+xml"
        )
}

/// The middleware.
pub async fn gzip(req: Request, next: Next) -> Response {
    let takes = (req.headers().get(ACCEPT_ENCODING))
        .and_then(|v| v.to_str().ok())
        .is_some_and(takes_gzip);
    let mut res = next.run(req).await;
    let kind = (res.headers().get(CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !compressible(kind) || res.headers().contains_key(CONTENT_ENCODING) {
        return res;
    }
    res.headers_mut()
        .append(VARY, HeaderValue::from_static("accept-encoding"));
    let size = res.body().size_hint().exact();
    if !takes || !size.is_some_and(|n| (MIN_BYTES..=MAX_BYTES).contains(&n)) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BYTES as usize).await else {
        // The body failed while being read: nothing is left to send but the status.
        parts.headers.remove(CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let mut z = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    let zipped = z.write_all(&bytes).and_then(|()| z.finish());
    match zipped {
        Ok(zipped) => {
            parts.headers.remove(CONTENT_LENGTH);
            parts
                .headers
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, Body::from(zipped))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::takes_gzip;

    #[test]
    fn reads_accept_encoding() {
        assert!(takes_gzip("gzip, deflate, br"));
        assert!(takes_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(takes_gzip("*"));
        assert!(!takes_gzip("gzip;q=0"));
        assert!(!takes_gzip("br, deflate"));
        assert!(!takes_gzip(""));
        assert!(!takes_gzip("identity"));
    }
}
