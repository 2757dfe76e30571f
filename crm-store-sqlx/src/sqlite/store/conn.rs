//! The connection threads: each owns one `rusqlite::Connection` and runs the jobs sent to
//! it, one at a time, each a whole store call (a commit, or a read), answering on a oneshot
//! channel. One hop per call: the async side sends a closure and awaits its answer.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crm_core::StoreError;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::oneshot;

/// Statements each connection keeps prepared: every constant statement of the store, and
/// the built ones in use (the listing's and reports' shapes, IN lists by length).
const STATEMENT_CACHE: usize = 128;

/// A job: one store call against the connection.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A thread owning one connection.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet finished.
    in_flight: Arc<AtomicUsize>,
}

impl Worker {
    /// Starts the thread; it ends (closing the connection) when the last sender is dropped.
    pub(super) fn spawn(name: &str, mut conn: Connection) -> Result<Self, StoreError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let done = in_flight.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    // A job that panics has rolled its transaction back while unwinding
                    // (the transaction's drop), and its caller gets an error: the thread
                    // and its connection stay for the next call.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                    done.fetch_sub(1, Ordering::AcqRel);
                }
            })
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(Self { jobs, in_flight })
    }

    /// Whether a job is running or queued.
    pub(super) fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Runs `f` on the connection's thread and returns its answer.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let job: Job = Box::new(move |c| {
            // The caller may have gone (its future dropped): nobody to answer then.
            let _ = tx.send(f(c));
        });
        if self.jobs.send(job).is_err() {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(gone());
        }
        rx.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Backend(
        "the SQLite call did not answer (it panicked, or its thread stopped)".into(),
    )
}

/// Where a store's calls run: writes (and reads while it is idle) on the writer, whose
/// page cache is the warm one; reads on a reader while the writer is busy.
#[derive(Debug)]
pub(crate) struct Lanes {
    pub(crate) writer: Worker,
    readers: Vec<Worker>,
    next: AtomicUsize,
}

impl Lanes {
    pub(super) fn new(writer: Worker, readers: Vec<Worker>) -> Self {
        Self {
            writer,
            readers,
            next: AtomicUsize::new(0),
        }
    }

    /// The worker for a read.
    pub(crate) fn reader(&self) -> &Worker {
        if self.readers.is_empty() || !self.writer.is_busy() {
            return &self.writer;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers.get(i).unwrap_or(&self.writer)
    }
}

/// Opens a connection on the database file `path` with the pool's settings: WAL,
/// `synchronous = NORMAL`, foreign keys, `busy_timeout` and a 64 MiB page cache. A
/// `read_only` connection (a reader) refuses every write.
pub(super) fn open_file(
    path: &Path,
    busy_timeout: Duration,
    read_only: bool,
) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let c = Connection::open_with_flags(path, flags).map_err(db)?;
    c.busy_timeout(busy_timeout).map_err(db)?;
    c.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
    if read_only {
        c.pragma_update(None, "query_only", "ON").map_err(db)?;
    }
    configure(c)
}

/// Opens a connection on the shared-cache in-memory database `name` (a `file:` URI), which
/// lives while a connection to it is open.
pub(super) fn open_memory(name: &str, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_MEMORY
        | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    let c = Connection::open_with_flags(name, flags).map_err(db)?;
    c.busy_timeout(busy_timeout).map_err(db)?;
    configure(c)
}

fn configure(c: Connection) -> Result<Connection, StoreError> {
    c.pragma_update(None, "synchronous", "NORMAL").map_err(db)?;
    c.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    c.pragma_update(None, "cache_size", -65536).map_err(db)?;
    // Statement journals in memory: a statement inside a commit's transaction that may
    // abort after changing pages (a trigger, a CHECK) first copies each page it changes to
    // a statement journal, a temporary file by default; measured, those writes were a
    // quarter of an import's time on the writer thread.
    c.pragma_update(None, "temp_store", "MEMORY").map_err(db)?;
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(c)
}

/// A database error by meaning: busy or locked (another process holds the lock past the
/// busy timeout) is [`StoreError::Busy`], anything else [`StoreError::Backend`].
pub(super) fn db(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}
