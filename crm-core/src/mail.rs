//! Leads from a mailbox, the pure part (feature `mail`): a message as it arrives read into
//! what a lead needs ([`read_mail`]), and what it does ([`mail_action`]).
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
//! What a message does is [`mail_action`]'s rule: an auto-reply, a bounce or bulk mail is
//! left alone; a message from the sender of an open lead is logged on that lead (its owner
//! unchanged, whoever the message is addressed or copied to); any other person's message
//! creates a lead (source `email`, name and e-mail from `From`) with the message as its
//! first interaction.

use std::fmt;

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contact::{Email, Name, Note};
use crate::ids::LeadId;
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

/// Who or what sent a message: only a person's message makes or touches a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A person wrote it.
    Person,
    /// An automatic answer: `Auto-Submitted` other than `no`, `X-Autoreply`,
    /// `X-Autorespond`, or `Precedence: auto_reply`.
    AutoReply,
    /// A delivery failure: from `MAILER-DAEMON` or `postmaster`, an empty return path, or a
    /// `multipart/report` delivery status.
    Bounce,
    /// Bulk or list mail: `Precedence: bulk`, `list` or `junk`, or a `List-Id`.
    Bulk,
}

impl MailKind {
    /// `person`, `auto_reply`, `bounce` or `bulk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::AutoReply => "auto_reply",
            Self::Bounce => "bounce",
            Self::Bulk => "bulk",
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

/// A message read: who sent it, what it says, and what kind of message it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingMail {
    /// What makes it the same message on another run.
    pub key: MailKey,
    /// Who or what sent it.
    pub kind: MailKind,
    /// The sender's address (`From`).
    pub from: Email,
    /// The sender's name as `From` gives it, when it gives one that reads as a name.
    pub from_name: Option<Name>,
    /// The subject, on one line (empty when none).
    pub subject: String,
    /// The text: the plain-text body, or the HTML body turned into text; control characters
    /// and bidi overrides left out.
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
pub fn read_mail(raw: &[u8]) -> Result<IncomingMail, MailError> {
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
    let address = sender
        .and_then(|a| a.address())
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or(MailError::NoSender)?;
    let kind = kind_of(&message, address);
    let from = Email::parse(address).map_err(MailError::BadSender)?;
    let from_name = (sender.and_then(|a| a.name()))
        .map(|n| n.trim().trim_matches('"').trim())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(address))
        .and_then(|n| Name::parse(&visible(n)).ok());
    let subject = visible(message.subject().unwrap_or_default())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text = visible(&message.body_text(0).unwrap_or_default())
        .replace("\r\n", "\n")
        .trim()
        .to_owned();
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
    Ok(IncomingMail {
        key,
        kind,
        from,
        from_name,
        subject,
        text,
        attachments,
        sent_at,
    })
}

/// Who or what sent `message` from `address`.
fn kind_of(message: &mail_parser::Message<'_>, address: &str) -> MailKind {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let local = address.split('@').next().unwrap_or_default();
    let empty_return_path = header("Return-Path").is_some_and(|p| p == "<>");
    let delivery_report = message.content_type().is_some_and(|t| {
        t.ctype().eq_ignore_ascii_case("multipart")
            && t.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && (t.attribute("report-type"))
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    if local.eq_ignore_ascii_case("mailer-daemon")
        || local.eq_ignore_ascii_case("postmaster")
        || empty_return_path
        || delivery_report
    {
        return MailKind::Bounce;
    }
    let precedence = header("Precedence");
    let auto = header("Auto-Submitted").is_some_and(|v| !v.starts_with("no"))
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || precedence.as_deref() == Some("auto_reply");
    if auto {
        return MailKind::AutoReply;
    }
    if matches!(precedence.as_deref(), Some("bulk" | "list" | "junk"))
        || header("List-Id").is_some()
    {
        return MailKind::Bulk;
    }
    MailKind::Person
}

/// `text` without what a reader cannot see and a field may not hold: control characters
/// (line breaks and tabs kept) and bidi embeddings, overrides and isolates (a spoofing
/// vector in mixed Arabic and Latin text). Mail is not typed into our forms, so these are
/// left out rather than the message refused.
fn visible(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\n' | '\t')
                || !(c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        })
        .collect()
}

/// What a message does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailAction {
    /// Left alone (an auto-reply, a bounce, bulk mail); only its key is kept.
    Ignore(MailKind),
    /// A new lead from a sender no open lead has, with the message as its first interaction.
    Create {
        /// The lead: source `email`, name and e-mail from `From`.
        lead: NewLead,
        /// The message, logged on it.
        first: NewInteraction,
    },
    /// The message logged on the open lead its sender is; the lead's owner is unchanged.
    Log {
        /// The lead.
        lead: LeadId,
        /// The message.
        interaction: NewInteraction,
    },
}

/// What `mail` does, received at `now`: `sender_lead` is the open lead with the sender's
/// address (the duplicate rule's match on the e-mail, found by the host), if any. A lead
/// without a name in `From` is named by its address (its first [`Name::MAX`] characters).
pub fn mail_action(
    mail: &IncomingMail,
    sender_lead: Option<LeadId>,
    now: DateTime<Utc>,
) -> Result<MailAction, ValidationError> {
    if mail.kind != MailKind::Person {
        return Ok(MailAction::Ignore(mail.kind));
    }
    let interaction = NewInteraction {
        kind: InteractionKind::Email,
        // Never in the future: a sender's clock can be ahead of ours.
        occurred_at: Some(mail.sent_at.map_or(now, |at| at.min(now))),
        notes: notes(mail)?,
        next_follow_up: None,
    };
    Ok(match sender_lead {
        Some(lead) => MailAction::Log { lead, interaction },
        None => {
            let name = match &mail.from_name {
                Some(n) => n.clone(),
                None => Name::parse(
                    &mail
                        .from
                        .as_str()
                        .chars()
                        .take(Name::MAX)
                        .collect::<String>(),
                )?,
            };
            let mut lead = NewLead::new(name, Source::email());
            lead.email = Some(mail.from.clone());
            MailAction::Create {
                lead,
                first: interaction,
            }
        }
    })
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
    let room = Note::MAX.saturating_sub(head.chars().count() + tail.chars().count() + 1);
    let text: String = match mail.text.chars().count() > room {
        true => mail.text.chars().take(room).chain(['…']).collect(),
        false => mail.text.clone(),
    };
    let all: String = format!("{head}{text}{tail}")
        .chars()
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

    fn read(name: &str) -> IncomingMail {
        read_mail(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .to_utc()
    }

    #[test]
    fn encoded_words_and_utf8_bodies_read_as_arabic() {
        let m = read("utf8-encoded-words.eml");
        assert_eq!(m.key.as_str(), "mid:quote-1@example.sa");
        assert_eq!(m.kind, MailKind::Person);
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
    fn bounces_auto_replies_and_bulk_mail_are_told_apart() {
        assert_eq!(read("bounce.eml").kind, MailKind::Bounce);
        assert_eq!(read("auto-reply.eml").kind, MailKind::AutoReply);
        assert_eq!(read("bulk.eml").kind, MailKind::Bulk);
        for name in ["bounce.eml", "auto-reply.eml", "bulk.eml"] {
            let m = read(name);
            assert_eq!(
                mail_action(&m, None, now()),
                Ok(MailAction::Ignore(m.kind)),
                "{name}"
            );
        }
    }

    #[test]
    fn a_message_without_message_id_is_keyed_by_its_bytes_and_lists_its_attachments() {
        let raw = fixture("attachment-no-message-id.eml");
        let m = read_mail(&raw).unwrap_or_else(|e| panic!("{e}"));
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
        let Ok(MailAction::Create { first, .. }) = mail_action(&m, None, now()) else {
            panic!("a lead")
        };
        assert!(
            first.notes.as_str().contains("📎 مواصفات.pdf (3 KB)"),
            "{}",
            first.notes.as_str()
        );
    }

    #[test]
    fn an_unknown_sender_makes_a_lead_and_a_known_one_an_interaction() {
        let m = read("utf8-encoded-words.eml");
        let Ok(MailAction::Create { lead, first }) = mail_action(&m, None, now()) else {
            panic!("a lead")
        };
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
        let id = LeadId::new_at(now());
        let Ok(MailAction::Log { lead, interaction }) = mail_action(&m, Some(id), now()) else {
            panic!("logged")
        };
        assert_eq!(lead, id);
        assert_eq!(interaction.notes, first.notes);
        // A sender's clock ahead of ours: the interaction is not in the future.
        let mut ahead = m.clone();
        ahead.sent_at = Some(now() + chrono::TimeDelta::hours(2));
        let Ok(MailAction::Log { interaction, .. }) = mail_action(&ahead, Some(id), now()) else {
            panic!("logged")
        };
        assert_eq!(interaction.occurred_at, Some(now()));
    }

    #[test]
    fn a_long_text_is_cut_and_says_so_and_controls_are_left_out() {
        let mut m = read("utf8-encoded-words.eml");
        m.text = format!("{}\u{202E}x\u{7}", "ن".repeat(Note::MAX * 2));
        m.text = visible(&m.text);
        let Ok(MailAction::Create { first, .. }) = mail_action(&m, None, now()) else {
            panic!("a lead")
        };
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
