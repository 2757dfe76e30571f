//! Reaching a mailbox: TCP, TLS for `imaps://`, the greeting and the login.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crm_config::MailboxSpec;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::FetchError;

/// How long reaching the server and its greeting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A logged-in IMAP session.
pub(crate) type Session = async_imap::Session<Connection>;

/// The connection to a mailbox's server: plain (to this machine only, as the configuration
/// allows) or TLS.
#[derive(Debug)]
pub enum Connection {
    /// `imap://` to this machine.
    Plain(TcpStream),
    /// `imaps://`.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_flush(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connects to `mailbox`'s server and logs in.
pub(crate) async fn login(
    mailbox: &MailboxSpec,
    ca_file: Option<&Path>,
) -> Result<Session, FetchError> {
    let fail = |what: &'static str| {
        move |reason: String| FetchError::Imap {
            mailbox: mailbox.name.clone(),
            what,
            reason,
        }
    };
    let reach = async {
        let tcp = TcpStream::connect((mailbox.host.as_str(), mailbox.port))
            .await
            .map_err(|e| e.to_string())?;
        let conn = match mailbox.tls {
            false => Connection::Plain(tcp),
            true => {
                let tls = TlsConnector::from(Arc::new(tls_config(ca_file)?));
                let name = ServerName::try_from(mailbox.host.clone())
                    .map_err(|e| format!("{}: {e}", mailbox.host))?;
                Connection::Tls(Box::new(
                    tls.connect(name, tcp).await.map_err(|e| e.to_string())?,
                ))
            }
        };
        let mut client = async_imap::Client::new(conn);
        match client.read_response().await {
            Ok(Some(_greeting)) => Ok(client),
            Ok(None) => Err("the server closed the connection".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    };
    let client = tokio::time::timeout(CONNECT_TIMEOUT, reach)
        .await
        .map_err(|_| format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()))
        .and_then(|r| r)
        .map_err(fail("connect"))?;
    client
        .login(&mailbox.user, &mailbox.password)
        .await
        .map_err(|(e, _)| fail("log in")(e.to_string()))
}

/// The system's certificate authorities and those of `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    // Certificates the system store holds that rustls cannot read are skipped; a store
    // with none usable is an error only when no CA file is given either.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no certificate", path.display()));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if roots.is_empty() {
        return Err(
            "no trusted certificate authority (install ca-certificates, or set \
                    mail_ca_file)"
                .to_owned(),
        );
    }
    // ring, named here rather than the process default: with two providers in one build
    // (a feature another crate turns on) rustls would refuse to pick. ring has no
    // post-quantum key exchange, hence the deprecation; aws-lc-rs has, but builds a large C
    // library on every clean build, and mail fetched over TLS 1.3 today is what this
    // protects.
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
