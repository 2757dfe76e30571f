//! The mailboxes leads arrive by (`mailboxes` in `crm.toml`): one per team, each a capture
//! channel of the library ([`crm_core::capture`]) named `mail.NAME`.
//!
//! One mailbox is `NAME=STRATEGY:TEAM URL` in the one-line form, or a table in the file:
//!
//! ```toml
//! [mailboxes.riyadh]
//! assign = "round-robin:riyadh"
//! url = "imaps://sales%40example.com:secret@imap.example.com/INBOX"
//! ```
//!
//! The URL is `imaps://` (TLS, port 993 unless given), or `imap://` (no TLS) to a server on
//! this machine only (`localhost`, `127.0.0.1`, `::1`): a password never crosses a network
//! in the clear. User and password are percent-encoded (`@` is `%40`); the path is the
//! folder (`INBOX` when none). The password is never shown back: [`MailboxSpec`]'s `Debug`
//! and `crm config check` print `***` for it.

use std::fmt;

use crm_core::{AssignmentRule, SystemActor};

/// How to reach a mailbox and whom its leads go to.
#[derive(Clone, PartialEq, Eq)]
pub struct MailboxSpec {
    /// Its name in the configuration (`riyadh`).
    pub name: String,
    /// The capture channel its messages are taken in by (`mail.riyadh`).
    pub channel: SystemActor,
    /// The rule its new leads are given by.
    pub rule: AssignmentRule,
    /// Over TLS (`imaps://`).
    pub tls: bool,
    /// The server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The login.
    pub user: String,
    /// The password.
    pub password: String,
    /// The folder read.
    pub folder: String,
}

impl fmt::Debug for MailboxSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxSpec")
            .field("name", &self.name)
            .field("channel", &self.channel)
            .field("rule", &self.rule)
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"***")
            .field("folder", &self.folder)
            .finish()
    }
}

impl MailboxSpec {
    /// Parses one mailbox, `NAME=STRATEGY:TEAM URL`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, rest) = text
            .trim()
            .split_once('=')
            .ok_or("a mailbox is NAME=STRATEGY:TEAM URL")?;
        let name = name.trim();
        let channel = SystemActor::parse(&format!("mail.{name}"))
            .map_err(|_| format!("mailbox name {name:?}: 1 to 59 of a-z, 0-9, _, -, ."))?;
        let (rule, url) = rest
            .trim()
            .split_once(char::is_whitespace)
            .ok_or("a mailbox is NAME=STRATEGY:TEAM URL")?;
        let rule: AssignmentRule = rule.parse().map_err(|e| format!("mailbox {name}: {e}"))?;
        if rule.source.is_some() {
            return Err(format!(
                "mailbox {name}: its rule is STRATEGY:TEAM (its leads' source is email)"
            ));
        }
        let url = url::Url::parse(url.trim()).map_err(|e| format!("mailbox {name}: {e}"))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            other => {
                return Err(format!(
                    "mailbox {name}: imaps:// (or imap:// on this machine), not {other}://"
                ));
            }
        };
        let host = url
            .host_str()
            .ok_or(format!("mailbox {name}: the URL names no server"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !tls && !matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1") {
            return Err(format!(
                "mailbox {name}: imap:// sends the password in the clear; use imaps:// for \
                 {host} (imap:// is for a server on this machine)"
            ));
        }
        let decode =
            |s: &str| percent_decode(s).ok_or(format!("mailbox {name}: bad %-encoding in the URL"));
        let user = decode(url.username())?;
        if user.is_empty() {
            return Err(format!("mailbox {name}: the URL names no user"));
        }
        let password = decode(url.password().unwrap_or_default())?;
        let folder = decode(url.path().trim_start_matches('/'))?;
        Ok(Self {
            name: name.to_owned(),
            channel,
            rule,
            tls,
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            host,
            user,
            password,
            folder: if folder.is_empty() {
                "INBOX".to_owned()
            } else {
                folder
            },
        })
    }
}

/// `%XX` sequences decoded; `None` when one is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// Every mailbox of the one-line form (`;` between mailboxes), refused when two share a
/// name.
pub fn parse_mailboxes(text: &str) -> Result<Vec<MailboxSpec>, String> {
    let mut out: Vec<MailboxSpec> = Vec::new();
    for m in text.split(';').filter(|m| !m.trim().is_empty()) {
        let m = MailboxSpec::parse(m)?;
        if out.iter().any(|o| o.name == m.name) {
            return Err(format!("mailbox {} is named twice", m.name));
        }
        out.push(m);
    }
    Ok(out)
}

/// The one-line form with every password shown as `***`, for `crm config check`. The
/// password is what the URL parser reads as one (up to the last `@`), whatever it holds.
pub fn redacted(text: &str) -> String {
    text.split(';')
        .map(|m| {
            let Some((head, url)) = m.trim().rsplit_once(char::is_whitespace) else {
                return m.to_owned();
            };
            match url::Url::parse(url) {
                Ok(mut u) if u.password().is_some() => {
                    // Setting a password fails only for URLs that cannot have one.
                    let _ = u.set_password(Some("***"));
                    format!("{head} {u}")
                }
                Ok(_) => m.to_owned(),
                // Not a URL: nothing parsed as a password, but hide whatever could be one.
                Err(_) => match url.split_once("://") {
                    Some((scheme, rest)) if rest.contains('@') => {
                        let host = rest.rsplit_once('@').map_or("", |(_, h)| h);
                        format!("{head} {scheme}://***@{host}")
                    }
                    _ => m.to_owned(),
                },
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_reads_its_url_and_hides_its_password() {
        let m = MailboxSpec::parse(
            "riyadh=round-robin:riyadh imaps://sales%40example.com:p%3Ass@imap.example.com/INBOX",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.channel.as_str(), "mail.riyadh");
        assert_eq!(
            (m.tls, m.port, m.host.as_str()),
            (true, 993, "imap.example.com")
        );
        assert_eq!(
            (m.user.as_str(), m.password.as_str()),
            ("sales@example.com", "p:ss")
        );
        assert_eq!(m.folder, "INBOX");
        assert!(!format!("{m:?}").contains("p:ss"));
        let shown = redacted(
            "riyadh=round-robin:riyadh imaps://sales%40example.com:p%3Ass@imap.example.com/INBOX",
        );
        assert!(
            !shown.contains("p%3Ass") && shown.contains(":***@"),
            "{shown}"
        );
        // An `@` left unencoded in the login: the parser takes the last one, and so does
        // the redaction.
        let shown =
            redacted("a=round-robin:east imaps://sales@example.com:s3cret@imap.example.com/");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn a_password_in_the_clear_goes_nowhere_but_this_machine() {
        let local = MailboxSpec::parse("a=least-open:east imap://u:p@127.0.0.1:10143/Leads")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (local.tls, local.port, local.folder.as_str()),
            (false, 10143, "Leads")
        );
        for bad in [
            "a=round-robin:east imap://u:p@imap.example.com/",
            "a=round-robin:east pop3://u:p@localhost/",
            "a=round-robin:east imaps://imap.example.com/",
            "a=email=round-robin:east imaps://u:p@imap.example.com/",
            "no rule here",
            "Bad Name=round-robin:east imaps://u:p@imap.example.com/",
        ] {
            assert!(MailboxSpec::parse(bad).is_err(), "{bad}");
        }
        assert!(
            parse_mailboxes(
                "a=round-robin:east imaps://u:p@x.example/;a=round-robin:west imaps://u:p@y.example/"
            )
            .is_err()
        );
    }
}
