//! A browser without a browser: a cookie jar and forms posted as a browser posts them,
//! for the in-process web tests.

use axum::body::Body;
use axum::http::{Method, Request};
use crm_server::web::urlencode;

use super::{Harness, Resp};

/// A browser's cookie jar and the page's CSRF token.
pub struct Browser<'a> {
    pub h: &'a Harness,
    pub cookies: Vec<(String, String)>,
}

pub fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + 64].to_owned()
}

impl<'a> Browser<'a> {
    pub fn new(h: &'a Harness) -> Self {
        Self { h, cookies: vec![] }
    }

    pub fn remember(&mut self, r: &Resp) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !val.is_empty() {
                self.cookies.push((k.to_owned(), val.to_owned()));
            }
        }
    }

    pub async fn request(
        &mut self,
        method: Method,
        uri: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Resp {
        let body = form.map(|fields| {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            ("application/x-www-form-urlencoded", body.into_bytes())
        });
        self.send(method, uri, body).await
    }

    /// Sends `body` (media type, bytes) with the jar's cookies, and keeps what the answer
    /// sets: a form in any encoding (e.g. a multipart upload).
    pub async fn send(&mut self, method: Method, uri: &str, body: Option<(&str, Vec<u8>)>) -> Resp {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut b = Request::builder().method(method).uri(uri);
        if !cookie.is_empty() {
            b = b.header("cookie", cookie);
        }
        let req = match body {
            Some((media, bytes)) => b.header("content-type", media).body(Body::from(bytes)),
            None => b.body(Body::empty()),
        }
        .unwrap();
        let r = self.h.send(req).await;
        self.remember(&r);
        r
    }

    pub async fn get(&mut self, uri: &str) -> Resp {
        self.request(Method::GET, uri, None).await
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Resp {
        self.request(Method::POST, uri, Some(form)).await
    }

    pub async fn sign_in(&mut self, id: &str, password: &str) -> Resp {
        let page = self.get("/sign-in").await;
        let csrf = hidden_csrf(&page.text);
        self.post(
            "/sign-in",
            &[("csrf", &csrf), ("employee_id", id), ("password", password)],
        )
        .await
    }
}

pub fn location(r: &Resp) -> &str {
    r.header("location").unwrap_or_default()
}

impl<'a> Browser<'a> {
    /// A browser signed in as employee `id`, with the form token of its session.
    pub async fn signed_in(h: &'a Harness, id: i64) -> (Self, String) {
        let mut b = Self::new(h);
        let r = b.sign_in(&id.to_string(), super::PASSWORD).await;
        assert_eq!(location(&r), "/", "{}", r.text);
        let csrf = hidden_csrf(&b.get("/leads").await.text);
        (b, csrf)
    }
}
