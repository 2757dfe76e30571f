//! Brotli or gzip for text responses (pages, JSON, the style sheet and scripts), whichever
//! the client weighs higher (Brotli on a tie: every current browser takes it, and it is
//! about a fifth smaller than gzip on our pages): a page of leads is a tenth of its size on
//! the wire, which a phone on a mobile network feels. Bodies of unknown length (streamed
//! downloads) and binary ones (fonts, XLSX, PDF, already compressed) pass as they are.
//! gzip is written on flate2 (already in the build through the exports), Brotli on the
//! `brotli` crate (the pure-Rust port of Google's encoder; a compressor is not a thing to
//! write ourselves), rather than adding tower-http for one layer.

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
/// Brotli's quality for bodies made per request: 5 is about gzip's speed and still
/// smaller; 11 is for files compressed once, not for every page.
const BROTLI_QUALITY: i32 = 5;
/// Brotli's window (2^22 bytes): larger than any page.
const BROTLI_WINDOW: i32 = 22;

/// A content coding this server writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `br`.
    Brotli,
    /// `gzip`.
    Gzip,
}

impl Coding {
    /// The `Content-Encoding` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    /// `bytes` in this coding.
    pub fn encode(self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes.len() / 4);
        match self {
            Self::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: BROTLI_QUALITY,
                    lgwin: BROTLI_WINDOW,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
            }
            Self::Gzip => {
                let mut z = GzEncoder::new(out, Compression::default());
                z.write_all(bytes)?;
                out = z.finish()?;
            }
        }
        Ok(out)
    }
}

/// The coding to answer an `Accept-Encoding` value in: of `br` and `gzip` (`*` stands for
/// either not named), the one weighed higher, Brotli on a tie; none when neither is
/// taken (absent, or `q=0`).
pub fn chosen(accept: &str) -> Option<Coding> {
    let (mut br, mut gzip, mut any) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        // `q` in any case; a weight outside 0..=1 (or not a number) is taken as its bound.
        let weight = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
            })
            .filter_map(|q| q.parse::<f32>().ok())
            .map(|q| if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) })
            .next()
            .unwrap_or(1.0);
        match coding.as_str() {
            "br" => br = Some(weight),
            "gzip" | "x-gzip" => gzip = Some(weight),
            "*" => any = Some(weight),
            _ => {}
        }
    }
    let br = br.or(any).unwrap_or(0.0);
    let gzip = gzip.or(any).unwrap_or(0.0);
    match (br > 0.0, gzip > 0.0) {
        (false, false) => None,
        _ if br >= gzip => Some(Coding::Brotli),
        _ => Some(Coding::Gzip),
    }
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
pub async fn compress(req: Request, next: Next) -> Response {
    // Every Accept-Encoding header, as one list.
    let accept: Vec<&str> = (req.headers().get_all(ACCEPT_ENCODING).iter())
        .filter_map(|v| v.to_str().ok())
        .collect();
    let coding = chosen(&accept.join(","));
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
    let Some(coding) =
        coding.filter(|_| size.is_some_and(|n| (MIN_BYTES..=MAX_BYTES).contains(&n)))
    else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BYTES as usize).await else {
        // The body failed while being read: nothing is left to send but the status.
        parts.headers.remove(CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    match coding.encode(&bytes) {
        Ok(encoded) => {
            parts.headers.remove(CONTENT_LENGTH);
            parts
                .headers
                .insert(CONTENT_ENCODING, HeaderValue::from_static(coding.as_str()));
            Response::from_parts(parts, Body::from(encoded))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Coding, chosen};

    #[test]
    fn reads_accept_encoding() {
        assert_eq!(chosen("gzip, deflate, br, zstd"), Some(Coding::Brotli));
        assert_eq!(chosen("br;q=1.0, GZIP;q=0.5"), Some(Coding::Brotli));
        assert_eq!(chosen("br;q=0.4, gzip;q=0.5"), Some(Coding::Gzip));
        assert_eq!(chosen("gzip, deflate"), Some(Coding::Gzip));
        assert_eq!(chosen("*"), Some(Coding::Brotli));
        assert_eq!(chosen("br;q=0, *"), Some(Coding::Gzip));
        assert_eq!(chosen("gzip;q=0"), None);
        assert_eq!(chosen("br;Q=0, gzip"), Some(Coding::Gzip));
        assert_eq!(chosen("br;q=NaN, gzip;q=2"), Some(Coding::Gzip));
        assert_eq!(chosen("br;q=-1"), None);
        assert_eq!(chosen("deflate, zstd"), None);
        assert_eq!(chosen(""), None);
        assert_eq!(chosen("identity"), None);
    }

    #[test]
    fn both_codings_read_back_as_the_body() {
        let page = "<p dir=\"rtl\">عميل محتمل جديد</p>\n".repeat(200);
        for coding in [Coding::Brotli, Coding::Gzip] {
            let encoded = coding.encode(page.as_bytes()).unwrap();
            assert!(
                encoded.len() < page.len() / 10,
                "{coding:?}: {}",
                encoded.len()
            );
            let mut back = String::new();
            match coding {
                Coding::Brotli => std::io::Read::read_to_string(
                    &mut brotli::Decompressor::new(encoded.as_slice(), 4096),
                    &mut back,
                ),
                Coding::Gzip => std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(encoded.as_slice()),
                    &mut back,
                ),
            }
            .unwrap();
            assert_eq!(back, page, "{coding:?}");
        }
    }
}
