//! Leads from a mailbox, the pure part (feature `mail`): a message as it arrives read into
//! what a lead needs ([`read_mail`]), and what it captures ([`mail_capture`]).
//!
//! Arabic mail as it really arrives: subjects and names in RFC 2047 encoded words, bodies in
//! UTF-8, Windows-1256 or ISO-8859-6, HTML-only messages (turned into text), attachments
//! (listed by name and size, never stored here). Parsing is [`mail_parser`]'s (Stalwart's
//! MIME parser: RFC 5322, 2045-2049, 2231 and their charsets, with no C and no network), so
//! none of MIME is re-implemented here.
//!
//! Every message has a key ([`MailKey`]): its `Message-ID`, or the SHA-256 of its bytes
//! when it has none. A host keeps the key in the same commit as what the message wrote, so a
//! re-run, a crash in the middle of a batch or two fetchers never take a message twice.
//!
//! What a message does: an automatic one ([`Automatic`]: an auto-reply, a bounce, a read
//! receipt, bulk mail) is left alone; a person's is captured ([`mail_capture`]). Its contact is
//! `From` (or `Reply-To`, when `From` is the host's own domain: a colleague forwarding, a
//! website's form relay; mail among the host's own people is left alone). A message from
//! the contact of an open lead is logged on that lead (its owner unchanged, whoever the
//! message is addressed or copied to); any other creates a lead (source `email`, name and
//! e-mail from the contact) with the message as its first interaction.

use std::fmt;

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::capture::Capture;
use crate::contact::{Email, Name, Note};
use crate::interaction::{InteractionKind, NewInteraction};
use crate::lead::NewLead;
use crate::source::Source;
use crate::validation::ValidationError;

/// The largest message read; a larger one is refused whole ([`MailError::TooLarge`]).
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// The longest key kept: a `Message-ID` longer than this is keyed by its hash.
const MAX_KEY: usize = 250;

/// What makes a message the same message on another run: `mid:` and its `Message-ID`
/// (without the angle brackets), or `sha256:` and the hash of its bytes when it has none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailKey(String);

impl MailKey {
    /// The key of a message with `message_id` (as the header gives it, brackets or not) and
    /// these `raw` bytes.
    pub fn of(message_id: Option<&str>, raw: &[u8]) -> Self {
        let id = message_id
            .map(|m| {
                m.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim()
            })
            .filter(|m| !m.is_empty() && m.len() <= MAX_KEY && !m.chars().any(char::is_control));
        match id {
            Some(id) => Self(format!("mid:{id}")),
            None => {
                let hex: String = (Sha256::digest(raw).iter())
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Self(format!("sha256:{hex}"))
            }
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MailKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message no person wrote: it never makes or touches a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automatic {
    /// An automatic answer (RFC 3834): `Auto-Submitted` other than `no`, `X-Autoreply`,
    /// `X-Autorespond`, or `Precedence: auto_reply`.
    AutoReply,
    /// A delivery failure: from `MAILER-DAEMON` or `postmaster`, or a `multipart/report`
    /// delivery status; or any message with an empty return path (`<>`) that is not an
    /// auto-reply.
    Bounce,
    /// A read receipt: a `multipart/report` disposition notification.
    Receipt,
    /// Bulk mail: `Precedence: bulk` or `junk`. (`Precedence: list` and `List-Id` are not
    /// enough: a team's address is often a group that marks every customer's mail so.)
    Bulk,
}

impl Automatic {
    /// `auto_reply`, `bounce`, `receipt` or `bulk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoReply => "auto_reply",
            Self::Bounce => "bounce",
            Self::Receipt => "receipt",
            Self::Bulk => "bulk",
        }
    }
}

/// A message read: a person's mail, or an automatic message left alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A person wrote it.
    Mail(IncomingMail),
    /// No person wrote it (whoever it claims to be from, valid or not).
    Automatic {
        /// What makes it the same message on another run.
        key: MailKey,
        /// What it is.
        kind: Automatic,
    },
}

impl Incoming {
    /// The message's key.
    pub fn key(&self) -> &MailKey {
        match self {
            Self::Mail(m) => &m.key,
            Self::Automatic { key, .. } => key,
        }
    }
}

/// An attachment as a message lists it: its name (or empty) and size in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name the sender gave, cleaned to one line (empty when none).
    pub name: String,
    /// Its size, decoded.
    pub bytes: usize,
}

/// A person's message: who sent it and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingMail {
    /// What makes it the same message on another run.
    pub key: MailKey,
    /// The sender's address (`From`).
    pub from: Email,
    /// The address `Reply-To` names instead, when it names one other than `From` (a
    /// website's form relays a customer's mail from its own address, with the customer's
    /// as the reply address).
    pub reply_to: Option<Email>,
    /// The sender's name as `From` gives it, when it gives one that reads as a name.
    pub from_name: Option<Name>,
    /// The subject, on one line (empty when none).
    pub subject: String,
    /// The text: every plain-text body part (or the HTML one turned into text), in order;
    /// control characters and bidi overrides left out.
    pub text: String,
    /// Its attachments, in order.
    pub attachments: Vec<Attachment>,
    /// When it was sent (`Date`), when it has a valid one.
    pub sent_at: Option<DateTime<Utc>>,
}

/// Why a message cannot be read as a lead's mail. Each is about the message itself:
/// reading it again fails again, so a host marks it as taken (with its key) and reports it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailError {
    /// Larger than [`MAX_MESSAGE_BYTES`].
    #[error("the message is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Not an e-mail message at all (no header could be read).
    #[error("the message cannot be read as e-mail")]
    Unreadable,
    /// `From` names no address.
    #[error("the message has no sender address")]
    NoSender,
    /// `From`'s address is not one a lead can have.
    #[error("the sender {0}")]
    BadSender(ValidationError),
}

/// Reads a message as it arrives from the mailbox.
pub fn read_mail(raw: &[u8]) -> Result<Incoming, MailError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(MailError::TooLarge {
            max: MAX_MESSAGE_BYTES,
        });
    }
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(MailError::Unreadable)?;
    let key = MailKey::of(message.message_id(), raw);
    let sender = message.from().and_then(|a| a.first());
    let address = (sender.and_then(|a| a.address()))
        .map(str::trim)
        .filter(|a| !a.is_empty());
    // Told apart before the sender is checked: a bounce often has none worth the name.
    // A bare `From: MAILER-DAEMON` has a name and no address.
    let who = address
        .or(sender.and_then(|a| a.name()))
        .unwrap_or_default();
    if let Some(kind) = automatic(&message, who) {
        return Ok(Incoming::Automatic { key, kind });
    }
    let address = address.ok_or(MailError::NoSender)?;
    let from = Email::parse(address).map_err(MailError::BadSender)?;
    let reply_to = (message.reply_to().and_then(|a| a.first()))
        .and_then(|a| a.address())
        .and_then(|a| Email::parse(a.trim()).ok())
        .filter(|r| *r != from);
    let from_name = (sender.and_then(|a| a.name()))
        .map(|n| n.trim().trim_matches(['"', '\'']).trim())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(address))
        .and_then(|n| Name::parse(&visible(n)).ok());
    let subject = visible(message.subject().unwrap_or_default())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // Every text part: a photo or a second text part after the first must not hide any.
    let text = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|t| {
            visible(&t)
                .replace("\r\n", "\n")
                .replace('\r', "\n")
                .trim()
                .to_owned()
        })
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let attachments = (message.attachments())
        .map(|part| Attachment {
            name: (part.attachment_name())
                .map(|n| visible(n).split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            bytes: part.contents().len(),
        })
        .collect();
    let sent_at = (message.date())
        .filter(|d| d.is_valid())
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    Ok(Incoming::Mail(IncomingMail {
        key,
        from,
        reply_to,
        from_name,
        subject,
        text,
        attachments,
        sent_at,
    }))
}

/// What automatic message `message` from `address` (or the sender's bare name) is, if no
/// person wrote it.
fn automatic(message: &mail_parser::Message<'_>, address: &str) -> Option<Automatic> {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    // RFC 3834: `no` (its first word) marks a person's message; anything else is automatic.
    let auto_submitted = header("Auto-Submitted")
        .is_some_and(|v| v.split([';', '(', ' ']).next().unwrap_or_default() != "no");
    let precedence = header("Precedence");
    if auto_submitted
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || precedence.as_deref() == Some("auto_reply")
    {
        return Some(Automatic::AutoReply);
    }
    let report = (message.content_type())
        .filter(|t| {
            t.ctype().eq_ignore_ascii_case("multipart")
                && t.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .and_then(|t| t.attribute("report-type"))
        .map(str::to_ascii_lowercase);
    if report.as_deref() == Some("disposition-notification") {
        return Some(Automatic::Receipt);
    }
    let local = address.split('@').next().unwrap_or_default();
    if local.eq_ignore_ascii_case("mailer-daemon")
        || local.eq_ignore_ascii_case("postmaster")
        || header("Return-Path").is_some_and(|p| p == "<>")
        || report.as_deref() == Some("delivery-status")
    {
        return Some(Automatic::Bounce);
    }
    if matches!(precedence.as_deref(), Some("bulk" | "junk")) {
        return Some(Automatic::Bulk);
    }
    None
}

/// `text` without what a reader cannot see and a field may not hold: control characters
/// (line breaks and tabs kept) and bidi embeddings, overrides and isolates (a spoofing
/// vector in mixed Arabic and Latin text). Mail is not typed into our forms, so these are
/// left out rather than the message refused.
fn visible(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\n' | '\r' | '\t')
                || !(c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        })
        .collect()
}

/// Whose mail this is: `From`, unless `From` is one of the host's own domains (a
/// colleague, a website's form relay), then `Reply-To` when it is not; `None` when both are
/// the host's own (internal mail). Domains compare case-insensitively.
pub fn contact<'m>(mail: &'m IncomingMail, own_domains: &[&str]) -> Option<&'m Email> {
    let ours = |e: &Email| {
        let domain = e.as_str().rsplit('@').next().unwrap_or_default();
        own_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    };
    if !ours(&mail.from) {
        return Some(&mail.from);
    }
    mail.reply_to.as_ref().filter(|r| !ours(r))
}

/// What `mail`, received at `now`, captures ([`crate::Crm::capture`]): a lead from its
/// contact ([`contact`]; `own_domains` are the host's), source `email`, with the message as
/// its interaction, under the message's key. The service logs it on the contact's open lead
/// when there is one, or creates the lead. `None` for mail among the host's own people. A
/// new lead is named as `From` names the sender when the contact is `From`, else by its
/// address (its first [`Name::MAX`] characters).
pub fn mail_capture(
    mail: &IncomingMail,
    own_domains: &[&str],
    now: DateTime<Utc>,
) -> Result<Option<Capture>, ValidationError> {
    let Some(contact) = contact(mail, own_domains) else {
        return Ok(None);
    };
    let interaction = NewInteraction {
        kind: InteractionKind::Email,
        // Never in the future: a sender's clock can be ahead of ours.
        occurred_at: Some(mail.sent_at.map_or(now, |at| at.min(now))),
        notes: notes(mail)?,
        next_follow_up: None,
    };
    let name = match (&mail.from_name, *contact == mail.from) {
        (Some(n), true) => n.clone(),
        _ => Name::parse(&contact.as_str().chars().take(Name::MAX).collect::<String>())?,
    };
    let mut lead = NewLead::new(name, Source::email());
    lead.email = Some(contact.clone());
    Ok(Some(Capture {
        key: mail.key.as_str().to_owned(),
        lead,
        interaction,
        details: Default::default(),
    }))
}

/// The interaction's notes: the subject, the text, and each attachment's name and size, at
/// most [`Note::MAX`] characters (a longer text is cut, and says so with `…`; the message
/// itself stays in the mailbox).
fn notes(mail: &IncomingMail) -> Result<Note, ValidationError> {
    let mut tail = String::new();
    for a in &mail.attachments {
        let name = if a.name.is_empty() { "—" } else { &a.name };
        tail.push_str(&format!("\n📎 {name} ({})", size(a.bytes)));
    }
    let head = match mail.subject.is_empty() {
        true => String::new(),
        false => format!("{}\n\n", mail.subject),
    };
    // Counted as the note will hold it: NFC can lengthen a few characters.
    let nfc = |t: &str| -> Vec<char> { t.nfc().collect() };
    let (head, text, tail) = (nfc(&head), nfc(&mail.text), nfc(&tail));
    let room = Note::MAX.saturating_sub(head.len() + tail.len() + 1);
    let text: Vec<char> = match text.len() > room {
        true => text.into_iter().take(room).chain(['…']).collect(),
        false => text,
    };
    let all: String = (head.into_iter().chain(text).chain(tail))
        .take(Note::MAX)
        .collect();
    Note::parse(&all)
}

/// A size as people read it: bytes, KB or MB.
fn size(bytes: usize) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", b.div_ceil(1024)),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../tests/fixtures/mail/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn incoming(raw: &[u8]) -> Incoming {
        read_mail(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    fn read(name: &str) -> IncomingMail {
        match incoming(&fixture(name)) {
            Incoming::Mail(m) => m,
            other => panic!("{name}: {other:?}"),
        }
    }

    fn automatic_kind(raw: &[u8]) -> Option<Automatic> {
        match incoming(raw) {
            Incoming::Automatic { kind, .. } => Some(kind),
            Incoming::Mail(_) => None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .to_utc()
    }

    const OURS: &[&str] = &["example.com"];

    fn captured(m: &IncomingMail) -> Capture {
        match mail_capture(m, OURS, now()) {
            Ok(Some(c)) => c,
            other => panic!("a capture: {other:?}"),
        }
    }

    #[test]
    fn encoded_words_and_utf8_bodies_read_as_arabic() {
        let m = read("utf8-encoded-words.eml");
        assert_eq!(m.key.as_str(), "mid:quote-1@example.sa");
        assert_eq!(m.from.as_str(), "ahmad@example.sa");
        assert_eq!(m.from_name.as_ref().map(Name::as_str), Some("أحمد الشهري"));
        assert_eq!(m.subject, "طلب عرض سعر");
        assert!(
            m.text.contains("نرغب في عرض سعر لتوريد ٥٠ جهازًا."),
            "{}",
            m.text
        );
        assert_eq!(
            m.sent_at.map(|t| t.to_rfc3339()),
            Some("2026-12-06T06:30:00+00:00".to_owned())
        );
    }

    #[test]
    fn windows_1256_and_iso_8859_6_read_as_arabic() {
        let m = read("windows-1256.eml");
        assert_eq!(m.from_name.as_ref().map(Name::as_str), Some("منى العتيبي"));
        assert_eq!(m.subject, "زيارة");
        assert_eq!(m.text, "نريد زيارة مندوبكم يوم الأحد");
        let m = read("iso-8859-6.eml");
        assert_eq!(m.subject, "كتالوج");
        assert_eq!(m.text, "مرحبا، أرسلوا الكتالوج من فضلكم");
        assert_eq!(m.from_name.as_ref().map(Name::as_str), Some("Khalid"));
    }

    #[test]
    fn an_html_only_message_is_read_as_text() {
        let m = read("html-only.eml");
        assert!(m.text.contains("نود حجز موعد"), "{}", m.text);
        assert!(!m.text.contains('<'), "{}", m.text);
        assert_eq!(m.from_name, None);
    }

    #[test]
    fn every_text_part_is_read() {
        let raw = "From: a@example.sa\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: image/jpeg\r\nContent-Disposition: inline\r\n\r\nJPEG\r\n\
            --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nالأول\r\n\
            --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nالثاني\r\n--b--\r\n";
        let raw = raw.as_bytes();
        let Incoming::Mail(m) = incoming(raw) else {
            panic!("a person's mail")
        };
        assert!(
            m.text.contains("الأول") && m.text.contains("الثاني"),
            "{}",
            m.text
        );
    }

    #[test]
    fn automatic_mail_is_told_apart() {
        assert_eq!(
            automatic_kind(&fixture("bounce.eml")),
            Some(Automatic::Bounce)
        );
        assert_eq!(
            automatic_kind(&fixture("auto-reply.eml")),
            Some(Automatic::AutoReply)
        );
        assert_eq!(automatic_kind(&fixture("bulk.eml")), Some(Automatic::Bulk));
        let mail = |headers: &str| format!("{headers}Subject: x\r\n\r\nbody\r\n");
        // An auto-reply with the null return path RFC 3834 asks for is an auto-reply.
        let ooo = mail("From: s@example.sa\r\nReturn-Path: <>\r\nAuto-Submitted: auto-replied\r\n");
        assert_eq!(automatic_kind(ooo.as_bytes()), Some(Automatic::AutoReply));
        let bounce = mail("From: s@example.sa\r\nReturn-Path: <>\r\n");
        assert_eq!(automatic_kind(bounce.as_bytes()), Some(Automatic::Bounce));
        // A bounce with no usable sender is still a bounce, not an error.
        let bare = mail("From: MAILER-DAEMON\r\n");
        assert_eq!(automatic_kind(bare.as_bytes()), Some(Automatic::Bounce));
        let person = mail("From: s@example.sa\r\nAuto-Submitted: no\r\n");
        assert_eq!(automatic_kind(person.as_bytes()), None);
        let receipt = mail(
            "From: s@example.sa\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n",
        );
        assert_eq!(automatic_kind(receipt.as_bytes()), Some(Automatic::Receipt));
        // A group address marks every customer's mail as list mail: still a person's.
        let group =
            mail("From: s@example.sa\r\nList-Id: <sales.example.com>\r\nPrecedence: list\r\n");
        assert_eq!(automatic_kind(group.as_bytes()), None);
    }

    #[test]
    fn a_message_without_message_id_is_keyed_by_its_bytes_and_lists_its_attachments() {
        let raw = fixture("attachment-no-message-id.eml");
        let Incoming::Mail(m) = incoming(&raw) else {
            panic!("a person's mail")
        };
        assert!(m.key.as_str().starts_with("sha256:"), "{}", m.key);
        assert_eq!(
            m.key,
            MailKey::of(None, &raw),
            "the same bytes, the same key"
        );
        assert_ne!(m.key, MailKey::of(None, b"other"));
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name, "مواصفات.pdf");
        assert_eq!(m.attachments[0].bytes, 9 + 2048);
        let first = captured(&m).interaction;
        assert!(
            first.notes.as_str().contains("📎 مواصفات.pdf (3 KB)"),
            "{}",
            first.notes.as_str()
        );
    }

    #[test]
    fn a_message_captures_its_sender_as_a_lead_with_the_message() {
        let m = read("utf8-encoded-words.eml");
        let Capture {
            key,
            lead,
            interaction: first,
            ..
        } = captured(&m);
        assert_eq!(key, m.key.as_str());
        assert_eq!(lead.name.as_str(), "أحمد الشهري");
        assert_eq!(lead.source, Source::email());
        assert_eq!(
            lead.email.as_ref().map(Email::as_str),
            Some("ahmad@example.sa")
        );
        assert_eq!(lead.owner, None, "the team's rule assigns it");
        assert_eq!(first.kind, InteractionKind::Email);
        assert!(first.notes.as_str().starts_with("طلب عرض سعر\n\n"));
        assert_eq!(first.occurred_at, m.sent_at);
        // A sender's clock ahead of ours: the interaction is not in the future.
        let mut ahead = m.clone();
        ahead.sent_at = Some(now() + chrono::TimeDelta::hours(2));
        assert_eq!(captured(&ahead).interaction.occurred_at, Some(now()));
    }

    #[test]
    fn mail_from_our_own_domain_takes_its_reply_address_or_is_internal() {
        let relay = b"From: WordPress <wordpress@EXAMPLE.com>\r\nReply-To: Noura <noura@example.sa>\r\nSubject: x\r\n\r\nbody\r\n";
        let Incoming::Mail(m) = incoming(relay) else {
            panic!("a person's mail")
        };
        assert_eq!(
            contact(&m, OURS).map(Email::as_str),
            Some("noura@example.sa")
        );
        let lead = captured(&m).lead;
        assert_eq!(
            lead.name.as_str(),
            "noura@example.sa",
            "not the relay's name"
        );
        let colleague = b"From: Ali <ali@example.com>\r\nSubject: fwd\r\n\r\nbody\r\n";
        let Incoming::Mail(m) = incoming(colleague) else {
            panic!("a person's mail")
        };
        assert_eq!(mail_capture(&m, OURS, now()), Ok(None));
    }

    #[test]
    fn a_long_text_is_cut_and_says_so_and_controls_are_left_out() {
        let mut m = read("utf8-encoded-words.eml");
        // U+FB2A grows under NFC: counted as the note holds it.
        m.text = visible(&format!(
            "{}\u{FB2A}{}\u{202E}x\u{7}",
            "ن".repeat(Note::MAX - 100),
            "ن".repeat(Note::MAX)
        ));
        let first = captured(&m).interaction;
        let notes = first.notes.as_str();
        assert_eq!(notes.chars().count(), Note::MAX);
        assert!(notes.ends_with('…'));
        assert!(!notes.contains('\u{202E}') && !notes.contains('\u{7}'));
    }

    #[test]
    fn what_is_not_mail_is_refused() {
        assert_eq!(read_mail(b""), Err(MailError::Unreadable));
        assert_eq!(
            read_mail(b"Subject: hi\r\n\r\nno sender\r\n"),
            Err(MailError::NoSender)
        );
        assert!(matches!(
            read_mail(b"From: not an address <x>\r\nSubject: hi\r\n\r\nbody\r\n"),
            Err(MailError::BadSender(_))
        ));
        let big = vec![b'a'; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            read_mail(&big),
            Err(MailError::TooLarge {
                max: MAX_MESSAGE_BYTES
            })
        );
    }
}
