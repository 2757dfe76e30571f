//! Bytes to cells: CSV (encoding and delimiter decided by the rules in [`super`]) and XLSX.

use std::collections::VecDeque;
use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

use super::{FileError, Sheet};

/// The text encoding a caller says a CSV file is in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark (the default).
    #[default]
    Utf8,
    /// Windows-1256, the Arabic code page older Excel saves "CSV" in.
    Windows1256,
}

/// The UTF-8 byte-order mark, dropped from the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding rule of [`super`], checked over a file's bytes as they pass (a first pass
/// over a file too large to hold): feed every byte in order, then [`TextCheck::finish`]
/// says whether the file may be read as the caller says. Holds at most a few bytes (a
/// character split between two chunks), whatever the file's size.
#[derive(Clone, Debug, Default)]
pub struct TextCheck {
    /// Bytes fed so far, after the byte-order mark.
    offset: usize,
    /// Whether the start (and a byte-order mark there) has been looked at.
    started: bool,
    /// The end of the last chunk when it was the start of a character (or of the mark).
    pending: Vec<u8>,
    /// Where the first byte that is not UTF-8 is.
    invalid_at: Option<usize>,
    /// Whether any byte is not ASCII.
    non_ascii: bool,
    /// Whether any byte is not ASCII whitespace.
    non_blank: bool,
}

impl TextCheck {
    /// A check of a file not fed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the file's next bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(chunk);
        let mut bytes = buf.as_slice();
        if !self.started {
            if bytes.len() < BOM.len() && BOM.starts_with(bytes) {
                self.pending = buf;
                return;
            }
            self.started = true;
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        }
        self.non_ascii |= !bytes.is_ascii();
        self.non_blank |= bytes.iter().any(|b| !b.is_ascii_whitespace());
        if self.invalid_at.is_none() {
            match std::str::from_utf8(bytes) {
                Ok(_) => {}
                // A character cut at the chunk's end: its start waits for the next chunk.
                Err(e) if e.error_len().is_none() => {
                    let tail = bytes.get(e.valid_up_to()..).unwrap_or_default();
                    self.offset += e.valid_up_to();
                    self.pending = tail.to_vec();
                    return;
                }
                Err(e) => self.invalid_at = Some(self.offset + e.valid_up_to()),
            }
        }
        self.offset += bytes.len();
    }

    /// Whether the file fed may be read as `encoding`: the rule of [`super`], and a file of
    /// nothing but whitespace is [`FileError::Empty`].
    pub fn finish(mut self, encoding: Encoding) -> Result<(), FileError> {
        if !self.started {
            // Shorter than a byte-order mark: what was held is the file.
            let held = std::mem::take(&mut self.pending);
            self.started = true;
            self.non_ascii |= !held.is_ascii();
            self.non_blank |= held.iter().any(|b| !b.is_ascii_whitespace());
            if held != BOM && std::str::from_utf8(&held).is_err() {
                self.invalid_at = Some(0);
            }
        } else if !self.pending.is_empty() && self.invalid_at.is_none() {
            // The file ends inside a character.
            self.invalid_at = Some(self.offset);
        }
        match (self.invalid_at, encoding) {
            (None, Encoding::Utf8) => {}
            (None, Encoding::Windows1256) if !self.non_ascii => {}
            (None, Encoding::Windows1256) => return Err(FileError::NotWindows1256),
            (Some(offset), Encoding::Utf8) => return Err(FileError::NotUtf8 { offset }),
            // Every byte has a character in Windows-1256: decoding cannot fail.
            (Some(_), Encoding::Windows1256) => {}
        }
        if !self.non_blank {
            return Err(FileError::Empty);
        }
        Ok(())
    }
}

/// The delimiters a CSV file may use.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records the delimiter is checked against.
const SNIFF_RECORDS: usize = 50;

/// How much of the start of a file the delimiter is found from (cut at its last line end):
/// [`SNIFF_RECORDS`] records of up to 20 KB each.
const SNIFF_BYTES: u64 = 1 << 20;

/// The delimiter that splits the header into more than one column and every one of the
/// first records into as many; refused when none or more than one does.
fn sniff(head: &[u8]) -> Result<u8, FileError> {
    let fits = |d: u8| {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(head);
        let mut widths = reader
            .byte_records()
            .take(SNIFF_RECORDS)
            .map(|r| r.map(|r| r.len()));
        match widths.next() {
            Some(Ok(n)) if n > 1 => widths.all(|w| w.is_ok_and(|w| w == n)),
            _ => false,
        }
    };
    let found: Vec<u8> = DELIMITERS.into_iter().filter(|d| fits(*d)).collect();
    match found.as_slice() {
        [d] => Ok(*d),
        [] => Err(FileError::NoDelimiter),
        many => Err(FileError::AmbiguousDelimiter(
            many.iter()
                .map(|d| match d {
                    b'\t' => "tab".to_owned(),
                    d => char::from(*d).to_string(),
                })
                .collect::<Vec<_>>()
                .join(" or "),
        )),
    }
}

fn unreadable(e: impl Into<crate::error::BoxError>) -> FileError {
    FileError::Unreadable(e.into())
}

/// A reader that notes where the line-end bytes (`\r`, `\n`) it passes on are, until the
/// records they precede have been counted: the line a record starts on, from its byte
/// offset, without keeping the file. Holds the line ends of the bytes read ahead only (the
/// CSV reader's buffer).
struct LineEnds<R> {
    inner: R,
    /// Bytes passed on so far.
    offset: u64,
    /// Offsets of the line-end bytes not yet counted, and whether each is a `\n`.
    ends: VecDeque<(u64, bool)>,
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (at, b) in (self.offset..).zip(buf.iter().take(n)) {
            if *b == b'\r' || *b == b'\n' {
                self.ends.push_back((at, *b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The rows of a CSV file, read as they are asked for: the header first ([`CsvRows::headers`]),
/// then each record with the line it starts on. Memory holds the delimiter's sample
/// (1 MiB at most) and the record being read, not the file.
///
/// The encoding is the caller's to check first ([`TextCheck`], or [`read_csv`] for bytes in
/// memory): a record whose bytes are not UTF-8 when UTF-8 was said is
/// [`FileError::NotUtf8`] when it is reached.
pub struct CsvRows<R> {
    reader: csv::Reader<LineEnds<std::io::Chain<Cursor<Vec<u8>>, R>>>,
    encoding: Encoding,
    headers: Vec<String>,
    record: csv::ByteRecord,
    /// The line the last record started on.
    line: usize,
    /// The offset up to which line ends have been counted.
    seen: u64,
}

impl<R: Read> CsvRows<R> {
    /// Starts reading `input` (its byte-order mark dropped) as `encoding`, with `delimiter`
    /// or the one found from the file's start; reads the header row.
    pub fn new(mut input: R, encoding: Encoding, delimiter: Option<u8>) -> Result<Self, FileError> {
        let mut head = Vec::new();
        (&mut input)
            .take(SNIFF_BYTES)
            .read_to_end(&mut head)
            .map_err(unreadable)?;
        let whole = (head.len() as u64) < SNIFF_BYTES;
        if head.starts_with(BOM) {
            head.drain(..BOM.len());
        }
        if whole && head.iter().all(u8::is_ascii_whitespace) {
            return Err(FileError::Empty);
        }
        let delimiter = match delimiter {
            Some(d) => d,
            None => {
                // A sample cut mid-file ends at a line end, not inside a record.
                let cut = if whole {
                    head.len()
                } else {
                    head.iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(head.len(), |i| i + 1)
                };
                sniff(head.get(..cut).unwrap_or_default())?
            }
        };
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(LineEnds {
                inner: Cursor::new(head).chain(input),
                offset: 0,
                ends: VecDeque::new(),
            });
        let mut rows = Self {
            reader,
            encoding,
            headers: Vec::new(),
            record: csv::ByteRecord::new(),
            line: 1,
            seen: 0,
        };
        match rows.next() {
            Some(Ok((_, headers))) => rows.headers = headers,
            Some(Err(e)) => return Err(e),
            None => return Err(FileError::Empty),
        }
        Ok(rows)
    }

    /// The header row.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// How many bytes of the file have been read into records (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Counts the line ends before the record starting at `start`: the line it is on. After
    /// a CRLF the record's position points at its LF; the record starts past it.
    fn line_of(&mut self, start: u64) -> usize {
        let mut start = start.max(self.seen);
        let ends = &mut self.reader.get_mut().ends;
        while let Some(&(at, newline)) = ends.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            self.line += usize::from(newline);
            ends.pop_front();
        }
        self.seen = start;
        self.line
    }

    fn cell(&self, bytes: &[u8]) -> Result<String, FileError> {
        match self.encoding {
            Encoding::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|e| FileError::NotUtf8 {
                offset: usize::try_from(self.seen).unwrap_or(usize::MAX)
                    + e.utf8_error().valid_up_to(),
            }),
            Encoding::Windows1256 => Ok(encoding_rs::WINDOWS_1256
                .decode_without_bom_handling(bytes)
                .0
                .into_owned()),
        }
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    /// A record: the line it starts on and its cells.
    type Item = Result<(usize, Vec<String>), FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = std::mem::take(&mut self.record);
        let read = self.reader.read_byte_record(&mut record);
        let item = match read {
            Ok(false) => None,
            Err(e) => Some(Err(unreadable(e))),
            Ok(true) => {
                let start = record.position().map_or(self.seen, |p| p.byte());
                let line = self.line_of(start);
                Some(
                    record
                        .iter()
                        .map(|c| self.cell(c))
                        .collect::<Result<Vec<_>, _>>()
                        .map(|cells| (line, cells)),
                )
            }
        };
        self.record = record;
        item
    }
}

/// Reads a CSV file held in memory: `encoding` as the caller says (see [`super`] for the
/// rule), the delimiter given or found. Row numbers are the lines the records start on.
pub fn read_csv(
    bytes: &[u8],
    encoding: Encoding,
    delimiter: Option<u8>,
) -> Result<Sheet, FileError> {
    let mut check = TextCheck::new();
    check.feed(bytes);
    check.finish(encoding)?;
    let mut rows = CsvRows::new(bytes, encoding, delimiter)?;
    let mut sheet = Sheet {
        headers: rows.headers().to_vec(),
        rows: Vec::new(),
    };
    for row in rows.by_ref() {
        sheet.rows.push(row?);
    }
    Ok(sheet)
}

/// A cell as text: whole numbers without a fraction (a phone typed as a number keeps its
/// digits), other values as calamine shows them.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

/// Reads the first sheet of an XLSX workbook. Row numbers are the sheet's.
pub fn read_xlsx(bytes: &[u8]) -> Result<Sheet, FileError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(FileError::Empty)?
        .map_err(unreadable)?;
    let first = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut sheet = Sheet::default();
    for (i, row) in range.rows().enumerate() {
        // Columns left of the used range are empty cells, so indices match the sheet's.
        let mut cells = vec![String::new(); first_col];
        cells.extend(row.iter().map(cell_text));
        if i == 0 {
            sheet.headers = cells;
        } else {
            sheet.rows.push((first + i + 1, cells));
        }
    }
    if sheet.headers.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_utf8_and_windows_1256_only_when_said() {
        let bom = "\u{FEFF}الاسم,phone\nسارة,0501234567\n".as_bytes();
        let s = read_csv(bom, Encoding::Utf8, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.headers, ["الاسم", "phone"]);
        assert_eq!(
            s.rows,
            [(2, vec!["سارة".to_owned(), "0501234567".to_owned()])]
        );
        assert!(matches!(
            read_csv(bom, Encoding::Windows1256, None),
            Err(FileError::NotWindows1256)
        ));

        // "الاسم;phone\nسارة;050" in Windows-1256.
        let (cp1256, _, bad) = encoding_rs::WINDOWS_1256.encode("الاسم;phone\nسارة;050\n");
        assert!(!bad);
        assert!(matches!(
            read_csv(&cp1256, Encoding::Utf8, None),
            Err(FileError::NotUtf8 { offset: 0 })
        ));
        let s = read_csv(&cp1256, Encoding::Windows1256, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.headers, ["الاسم", "phone"]);
        assert_eq!(s.rows[0].1, ["سارة", "050"]);
    }

    #[test]
    fn the_delimiter_is_found_or_refused() {
        let semi = "name;phone\n\"a;b\";1,2\nc;3\n".as_bytes();
        let s = read_csv(semi, Encoding::Utf8, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.rows[0], (2, vec!["a;b".to_owned(), "1,2".to_owned()]));
        let tab = "name\tphone\nx\t1\n".as_bytes();
        assert_eq!(
            read_csv(tab, Encoding::Utf8, None)
                .map(|s| s.headers.len())
                .ok(),
            Some(2)
        );
        let both = "a,b;c\n1,2;3\n".as_bytes();
        assert!(matches!(
            read_csv(both, Encoding::Utf8, None),
            Err(FileError::AmbiguousDelimiter(_))
        ));
        assert_eq!(
            read_csv(both, Encoding::Utf8, Some(b';'))
                .map(|s| s.headers)
                .ok(),
            Some(vec!["a,b".to_owned(), "c".to_owned()])
        );
        assert!(matches!(
            read_csv(b"name\nx\n", Encoding::Utf8, None),
            Err(FileError::NoDelimiter)
        ));
        assert!(matches!(
            read_csv(b"  \n", Encoding::Utf8, None),
            Err(FileError::Empty)
        ));
    }

    #[test]
    fn row_numbers_are_file_lines() {
        let s = read_csv(b"name,notes\na,\"two\nlines\"\nb,x\n", Encoding::Utf8, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 4]);
        let s = read_csv(
            b"name,notes\r\na,\"two\r\nlines\"\r\nb,x\r\n",
            Encoding::Utf8,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 4]);
    }

    /// A reader that hands out `step` bytes at a time and counts what it handed out.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
        given: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            let (now, rest) = self.bytes.split_at(n);
            buf[..n].copy_from_slice(now);
            self.bytes = rest;
            self.given.set(self.given.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn a_stream_reads_as_the_bytes_do() {
        let files: [&[u8]; 3] = [
            "\u{FEFF}الاسم;notes\r\nسارة;\"two\r\nlines\"\r\n\r\nعلي;x\r\n".as_bytes(),
            b"name,notes\na,\"two\nlines\"\nb,x",
            b"name\tphone\rx\t1\ry\t2\r",
        ];
        for bytes in files {
            let whole = read_csv(bytes, Encoding::Utf8, None).unwrap_or_else(|e| panic!("{e}"));
            for step in [1, 2, 3, 7] {
                let mut check = TextCheck::new();
                for chunk in bytes.chunks(step) {
                    check.feed(chunk);
                }
                check
                    .finish(Encoding::Utf8)
                    .unwrap_or_else(|e| panic!("{e}"));
                let given = std::rc::Rc::default();
                let rows = CsvRows::new(Trickle { bytes, step, given }, Encoding::Utf8, None)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(rows.headers(), whole.headers);
                let got: Vec<_> = rows.map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect();
                assert_eq!(got, whole.rows, "step {step}");
            }
        }
        // A character cut between chunks is not an error; a file ending inside one is.
        let mut check = TextCheck::new();
        for chunk in "سارة".as_bytes().chunks(1) {
            check.feed(chunk);
        }
        assert!(check.finish(Encoding::Utf8).is_ok());
        let mut check = TextCheck::new();
        check.feed(b"name,phone\n\xD8");
        assert!(matches!(
            check.finish(Encoding::Utf8),
            Err(FileError::NotUtf8 { offset: 11 })
        ));
    }

    /// The reader takes from the file what the row asked for needs (the delimiter's sample
    /// and the CSV reader's buffer), not the whole file.
    #[test]
    fn rows_are_read_as_they_are_asked_for() {
        let mut file = b"name,phone\n".to_vec();
        for i in 0..200_000 {
            file.extend_from_slice(format!("Lead {i},05{i:08}\n").as_bytes());
        }
        assert!(file.len() > 4 << 20);
        let given: std::rc::Rc<std::cell::Cell<usize>> = std::rc::Rc::default();
        let mut rows = CsvRows::new(
            Trickle {
                bytes: &file,
                step: 64 << 10,
                given: given.clone(),
            },
            Encoding::Utf8,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let first = rows.next().and_then(Result::ok);
        assert_eq!(first.map(|(line, _)| line), Some(2));
        assert!(
            given.get() <= (SNIFF_BYTES as usize) + (128 << 10),
            "{} of {} bytes read for the first row",
            given.get(),
            file.len()
        );
        assert_eq!(rows.count(), 199_999);
    }
}
