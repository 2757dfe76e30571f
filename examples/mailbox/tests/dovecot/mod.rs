//! A throwaway dovecot (Debian's `dovecot-imapd`, 2.3) for the real-IMAP tests: plain IMAP
//! and IMAPS on free ports of 127.0.0.1, one user (`sales@example.com` / `secret`), a Maildir
//! in a temporary directory, messages delivered by writing them into it (`tmp/`, then a
//! rename into `new/`, as a delivery agent does). Shared by crm-mailbox's tests and the CLI's
//! (`#[path]`).
//!
//! Run as root (CI), dovecot refuses to read mail as uid 0: mail belongs to Debian's `mail`
//! user (uid and gid 8), and the directory is opened to it. Stopped by SIGTERM to its
//! process group (every dovecot process, sessions still open included).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The mailbox's login.
pub const USER: &str = "sales@example.com";
/// Its password.
pub const PASSWORD: &str = "secret";

/// A running dovecot; stopped when dropped.
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    /// Plain IMAP.
    pub imap_port: u16,
    /// IMAP over TLS.
    pub imaps_port: u16,
    delivered: AtomicUsize,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Dovecot {
    /// Starts one and waits for its greeting.
    pub fn start() -> Self {
        let binary = Path::new("/usr/sbin/dovecot");
        assert!(
            binary.is_file(),
            "the real-IMAP tests need dovecot: apt-get install dovecot-imapd (or unset \
             CRM_REQUIRE_DOVECOT to have them reported as ignored)"
        );
        // Short: dovecot's sockets live under it, and a socket path has 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("dv")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        let (imap_port, imaps_port) = (free_port(), free_port());
        run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            // A server's certificate, trusted as itself (webpki refuses a CA as a server).
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
            &format!("{d}/key.pem"),
            "-out",
            &format!("{d}/cert.pem"),
        ]));
        std::fs::write(
            format!("{d}/users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir(format!("{d}/{sub}")).unwrap();
        }
        let (users, mail_ids) = if is_root() {
            // dovecot reads mail as `mail` (8:8), its auth process as `dovecot`.
            run(Command::new("chmod").args(["0755", &d]));
            run(Command::new("chmod").args(["0644", &format!("{d}/users")]));
            run(Command::new("chown").args(["8:8", &format!("{d}/mail")]));
            (String::new(), "uid=8 gid=8".to_owned())
        } else {
            let id = |flag: &str| {
                let o = Command::new("id").arg(flag).output().unwrap();
                String::from_utf8(o.stdout).unwrap().trim().to_owned()
            };
            (
                format!(
                    "default_internal_user = {u}\ndefault_internal_group = {g}\n\
                     default_login_user = {u}\n",
                    u = id("-un"),
                    g = id("-gn")
                ),
                format!("uid={} gid={}", id("-u"), id("-g")),
            )
        };
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = crm-test-{imaps_port}
log_path = {d}/dovecot.log
first_valid_uid = 1
first_valid_gid = 1
{users}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = {mail_ids} home={d}/mail/%u
}}
mail_location = maildir:{d}/mail/%u
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
service old-stats {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"#
        );
        std::fs::write(format!("{d}/dovecot.conf"), conf).unwrap();
        let child = Command::new(binary)
            .args(["-F", "-c", &format!("{d}/dovecot.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap();
        let dovecot = Self {
            dir,
            child,
            imap_port,
            imaps_port,
            delivered: AtomicUsize::new(0),
        };
        dovecot.wait_for_greeting();
        dovecot
    }

    /// The port accepts before the login process works: wait for `* OK`.
    fn wait_for_greeting(&self) {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.imap_port)) {
                let mut line = String::new();
                let mut r = BufReader::new(&s);
                if r.read_line(&mut line).is_ok() && line.starts_with("* OK") {
                    let _ = (&s).write_all(b"a LOGOUT\r\n");
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(self.dir.path().join("dovecot.log"));
        panic!("dovecot did not greet within 15 s; its log: {log:?}");
    }

    /// The mailbox's URL: `imaps://` with `tls`, else `imap://`.
    pub fn url(&self, tls: bool) -> String {
        let user = USER.replace('@', "%40");
        match tls {
            true => format!(
                "imaps://{user}:{PASSWORD}@localhost:{}/INBOX",
                self.imaps_port
            ),
            false => format!(
                "imap://{user}:{PASSWORD}@127.0.0.1:{}/INBOX",
                self.imap_port
            ),
        }
    }

    /// The server's certificate, to trust for TLS.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Delivers one message into the inbox.
    pub fn deliver(&self, raw: &[u8]) {
        let maildir = self.dir.path().join("mail").join(USER);
        for sub in ["", "tmp", "new", "cur"] {
            let p = maildir.join(sub);
            if !p.is_dir() {
                std::fs::create_dir_all(&p).unwrap();
                if is_root() {
                    std::os::unix::fs::chown(&p, Some(8), Some(8)).unwrap();
                }
            }
        }
        let n = self.delivered.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}.M{n}P{}.crm-test", 1_800_000_000 + n, std::process::id());
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        std::fs::rename(&tmp, maildir.join("new").join(&name)).unwrap();
    }

    /// How many messages of the inbox carry `keyword` (dovecot keeps keywords as letters
    /// after `:2,` in the file names of `cur/`, in the order of `dovecot-keywords`).
    pub fn marked(&self, keyword: &str) -> usize {
        let maildir = self.dir.path().join("mail").join(USER);
        let Ok(list) = std::fs::read_to_string(maildir.join("dovecot-keywords")) else {
            return 0;
        };
        let Some(letter) = list.lines().find_map(|l| {
            let (i, name) = l.split_once(' ')?;
            let i = i.parse::<u8>().ok()?;
            (name == keyword).then(|| char::from(b'a' + i))
        }) else {
            return 0;
        };
        std::fs::read_dir(maildir.join("cur"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.split_once(":2,")
                    .is_some_and(|(_, flags)| flags.contains(letter))
            })
            .count()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A fixture message of `tests/fixtures/mail/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mail")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A plain message from `from` with `message_id`.
pub fn message(from: &str, message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 07 Dec 2026 08:00:00 +0300\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {body}\r\n"
    )
    .into_bytes()
}
