//! Leads from a mailbox: reads each configured IMAP mailbox ([`MailboxSpec`], the
//! `mailboxes` setting of the one configuration) and takes every message in through the
//! library, [`Crm::capture`] as the mailbox's capture channel (`mail.NAME`). The `crm` tool
//! (`crm mail fetch`) and crm-server (`mail_every`) both call [`fetch`]; neither has a
//! mail rule of its own.
//!
//! What a run does, for the messages of the folder not yet marked done, oldest first, in
//! batches of [`BATCH`]:
//!
//! 1. read the message ([`read_mail`]); a message that does not read (no sender, over
//!    [`MAX_MESSAGE_BYTES`]) is marked `$CrmUnreadable` and left in the mailbox for people;
//! 2. an auto-reply, bounce, read receipt or bulk mail, and mail among the company's own
//!    people, is marked done and captures nothing;
//! 3. any other is captured ([`mail_capture`], then [`Crm::capture`]): logged on the
//!    sender's open lead, or a new lead given by the mailbox's team rule; then marked done.
//!
//! "Done" is the IMAP keyword `$CrmCaptured`: people reading the mailbox keep their own
//! `\Seen` (messages are fetched with `BODY.PEEK`). Exactly once does not rest on the
//! keyword: the library stores each message's key ([`crm_core::mail::MailKey`]) in the
//! commit that captures it, so a message captured and not yet marked (a crash, a kill -9,
//! a second fetcher) is [`Captured::Taken`] the next time, and only marked.
//!
//! The IMAP client is `async-imap` (the client of the Delta Chat messenger, kept up, pure
//! Rust, on tokio) over `tokio-rustls` (rustls with the `ring` provider: no OpenSSL to link);
//! certificates are checked against the system's authorities (`rustls-native-certs`) and the
//! configured `mail_ca_file`.

mod connect;

use std::collections::BTreeSet;
use std::path::Path;

use async_imap::types::Flag;
use chrono::Utc;
use crm_config::MailboxSpec;
use crm_core::capture::Captured;
use crm_core::mail::{Incoming, MAX_MESSAGE_BYTES, mail_capture, read_mail};
use crm_core::{Crm, CrmError, ValidationError};
use futures_util::TryStreamExt;

pub use connect::Connection;

/// The keyword a message taken in is marked with.
pub const DONE: &str = "$CrmCaptured";
/// The keyword a message that cannot be read is marked with (left for people).
pub const UNREADABLE: &str = "$CrmUnreadable";
/// Messages fetched at a time: what a run holds in memory is one batch's, never the
/// mailbox's.
pub const BATCH: usize = 25;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server could not be reached, refused the login, or the connection broke.
    #[error("mailbox {mailbox}: {what}: {reason}")]
    Imap {
        /// The mailbox's name.
        mailbox: String,
        /// What was being done.
        what: &'static str,
        /// The server's or the network's words.
        reason: String,
    },
    /// The library refused or failed (a store failure, a team with no active sales staff):
    /// the message stays unmarked for the next run.
    #[error("mailbox {mailbox}: {source}")]
    Crm {
        /// The mailbox's name.
        mailbox: String,
        /// The library's error.
        #[source]
        source: CrmError,
    },
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchReport {
    /// The mailbox's name.
    pub mailbox: String,
    /// New leads.
    pub created: usize,
    /// Messages logged on an open lead.
    pub logged: usize,
    /// Messages captured before (their key was stored): only marked now.
    pub taken: usize,
    /// Auto-replies, bounces, receipts and bulk mail, left alone.
    pub automatic: usize,
    /// Mail among the company's own people, left alone.
    pub internal: usize,
    /// Messages that do not read, marked `$CrmUnreadable`, with why.
    pub unreadable: Vec<(u32, String)>,
}

impl FetchReport {
    fn new(mailbox: &str) -> Self {
        Self {
            mailbox: mailbox.to_owned(),
            ..Self::default()
        }
    }
}

/// Reads `mailbox` once: every message not yet marked, as the module says. `own_domains`
/// are the company's mail domains; `ca_file` adds trusted authorities for TLS.
pub async fn fetch(
    crm: &Crm,
    mailbox: &MailboxSpec,
    own_domains: &[String],
    ca_file: Option<&Path>,
) -> Result<FetchReport, FetchError> {
    // A server that stops answering mid-run must not hold a fetcher for ever; what was
    // taken in stays taken (keys in the store), and the next run goes on from there.
    tokio::time::timeout(RUN_LIMIT, run(crm, mailbox, own_domains, ca_file))
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Imap {
                mailbox: mailbox.name.clone(),
                what: "read",
                reason: format!("no end within {} minutes", RUN_LIMIT.as_secs() / 60),
            })
        })
}

/// The longest one run of [`fetch`] may take.
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

async fn run(
    crm: &Crm,
    mailbox: &MailboxSpec,
    own_domains: &[String],
    ca_file: Option<&Path>,
) -> Result<FetchReport, FetchError> {
    let imap = |what: &'static str| {
        move |e: async_imap::error::Error| FetchError::Imap {
            mailbox: mailbox.name.clone(),
            what,
            reason: e.to_string(),
        }
    };
    let mut session = connect::login(mailbox, ca_file).await?;
    let folder = session
        .select(&mailbox.folder)
        .await
        .map_err(imap("select"))?;
    // Without keywords kept, every run would take the whole folder again (and a refused
    // mark would stop every run at the same message): refuse such a mailbox up front.
    let keeps = |k: &str| {
        (folder.permanent_flags.iter())
            .any(|f| matches!(f, Flag::MayCreate) || matches!(f, Flag::Custom(c) if c == k))
    };
    if !(keeps(DONE) && keeps(UNREADABLE)) {
        return Err(FetchError::Imap {
            mailbox: mailbox.name.clone(),
            what: "select",
            reason: format!(
                "the folder {} does not keep the keywords {DONE} and {UNREADABLE}",
                mailbox.folder
            ),
        });
    }
    let query = format!("UNKEYWORD {DONE} UNKEYWORD {UNREADABLE}");
    let todo: BTreeSet<u32> = session
        .uid_search(&query)
        .await
        .map_err(imap("search"))?
        .into_iter()
        .collect();
    let domains: Vec<&str> = own_domains.iter().map(String::as_str).collect();
    let mut report = FetchReport::new(&mailbox.name);
    let todo: Vec<u32> = todo.into_iter().collect();
    for batch in todo.chunks(BATCH) {
        let set = uid_set(batch);
        // Sizes first: a message over the limit is never downloaded.
        let sizes: Vec<(u32, u32)> = session
            .uid_fetch(&set, "(UID RFC822.SIZE)")
            .await
            .map_err(imap("fetch sizes"))?
            .try_filter_map(|f| async move { Ok(f.uid.zip(f.size)) })
            .try_collect()
            .await
            .map_err(imap("fetch sizes"))?;
        let (small, large): (Vec<_>, Vec<_>) = sizes
            .into_iter()
            .partition(|(_, size)| *size as usize <= MAX_MESSAGE_BYTES);
        for (uid, size) in large {
            let reason = format!("{size} bytes, over the limit of {MAX_MESSAGE_BYTES}");
            report.unreadable.push((uid, reason));
            mark(&mut session, uid, UNREADABLE)
                .await
                .map_err(imap("mark"))?;
        }
        if small.is_empty() {
            continue;
        }
        let small: Vec<u32> = small.into_iter().map(|(uid, _)| uid).collect();
        let messages: Vec<(u32, Vec<u8>)> = session
            .uid_fetch(uid_set(&small), "(UID BODY.PEEK[])")
            .await
            .map_err(imap("fetch"))?
            .try_filter_map(|f| async move { Ok(f.uid.zip(f.body().map(<[u8]>::to_vec))) })
            .try_collect()
            .await
            .map_err(imap("fetch"))?;
        for (uid, raw) in messages {
            let keyword = take(crm, mailbox, &domains, uid, &raw, &mut report).await?;
            mark(&mut session, uid, keyword)
                .await
                .map_err(imap("mark"))?;
        }
    }
    // The work is done and marked; a failed goodbye changes nothing.
    let _ = session.logout().await;
    Ok(report)
}

/// Reads every mailbox of `settings` once, in order; a mailbox that fails does not stop the
/// others.
pub async fn fetch_all(
    crm: &Crm,
    settings: &crm_config::Settings,
) -> Vec<Result<FetchReport, FetchError>> {
    let mut out = Vec::with_capacity(settings.mailboxes.len());
    for m in &settings.mailboxes {
        let ca = settings.mail_ca_file.as_deref();
        out.push(fetch(crm, m, &settings.mail_domains, ca).await);
    }
    out
}

/// Reads every mailbox of `settings` every `every`, for ever, logging what each run did
/// (target `crm::mail`): crm-server's fetcher (`mail_every`).
pub async fn fetch_every(crm: Crm, settings: crm_config::Settings, every: std::time::Duration) {
    loop {
        for r in fetch_all(&crm, &settings).await {
            match r {
                Ok(r) => tracing::info!(
                    target: "crm::mail",
                    mailbox = %r.mailbox,
                    created = r.created,
                    logged = r.logged,
                    taken = r.taken,
                    automatic = r.automatic,
                    internal = r.internal,
                    unreadable = r.unreadable.len(),
                    "mailbox read"
                ),
                Err(e) => tracing::warn!(target: "crm::mail", error = %e, "mailbox not read"),
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Takes one message in, counting it in `report`; returns the keyword to mark it with.
async fn take(
    crm: &Crm,
    mailbox: &MailboxSpec,
    domains: &[&str],
    uid: u32,
    raw: &[u8],
    report: &mut FetchReport,
) -> Result<&'static str, FetchError> {
    let mail = match read_mail(raw) {
        Ok(Incoming::Mail(m)) => m,
        Ok(Incoming::Automatic { .. }) => {
            report.automatic += 1;
            return Ok(DONE);
        }
        Err(e) => {
            report.unreadable.push((uid, e.to_string()));
            return Ok(UNREADABLE);
        }
    };
    let capture = match mail_capture(&mail, domains, Utc::now()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            report.internal += 1;
            return Ok(DONE);
        }
        Err(e) => {
            report.unreadable.push((uid, e.to_string()));
            return Ok(UNREADABLE);
        }
    };
    match crm.capture(&mailbox.channel, capture).await {
        Ok(Captured::Created { .. }) => report.created += 1,
        Ok(Captured::Logged { .. }) => report.logged += 1,
        Ok(Captured::Taken { .. }) => report.taken += 1,
        // The set-up, not the message: the next run tries again once it is mended.
        Err(
            source @ CrmError::Validation(
                ValidationError::NoActiveSales { .. } | ValidationError::UnlistedSource { .. },
            ),
        ) => {
            return Err(FetchError::Crm {
                mailbox: mailbox.name.clone(),
                source,
            });
        }
        // What the message itself says does not make a lead (e.g. a sender's name that is
        // no name): left for people, not retried.
        Err(CrmError::Validation(e)) => {
            report.unreadable.push((uid, e.to_string()));
            return Ok(UNREADABLE);
        }
        Err(source) => {
            return Err(FetchError::Crm {
                mailbox: mailbox.name.clone(),
                source,
            });
        }
    }
    Ok(DONE)
}

/// Marks one message with `keyword`.
async fn mark(
    session: &mut connect::Session,
    uid: u32,
    keyword: &str,
) -> Result<(), async_imap::error::Error> {
    session
        .uid_store(uid.to_string(), format!("+FLAGS.SILENT ({keyword})"))
        .await?
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// `1,2,5` for the UIDs given.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
