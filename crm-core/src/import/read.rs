//! Bytes to cells: CSV (encoding and delimiter decided by the rules in [`super`]) and XLSX.

use std::borrow::Cow;
use std::io::Cursor;

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

/// The file's text under the encoding rule of [`super`].
fn decode(bytes: &[u8], encoding: Encoding) -> Result<Cow<'_, str>, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match (std::str::from_utf8(bytes), encoding) {
        (Ok(text), Encoding::Utf8) => Ok(Cow::Borrowed(text)),
        (Ok(text), Encoding::Windows1256) if text.is_ascii() => Ok(Cow::Borrowed(text)),
        (Ok(_), Encoding::Windows1256) => Err(FileError::NotWindows1256),
        (Err(e), Encoding::Utf8) => Err(FileError::NotUtf8 {
            offset: e.valid_up_to(),
        }),
        // Every byte has a character in Windows-1256: decoding cannot fail.
        (Err(_), Encoding::Windows1256) => Ok(encoding_rs::WINDOWS_1256
            .decode_without_bom_handling(bytes)
            .0),
    }
}

/// The delimiters a CSV file may use.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records the delimiter is checked against.
const SNIFF_RECORDS: usize = 50;

/// The delimiter that splits the header into more than one column and every one of the
/// first records into as many; refused when none or more than one does.
fn sniff(text: &str) -> Result<u8, FileError> {
    let fits = |d: u8| {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut widths = reader
            .records()
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

/// Reads a CSV file: `encoding` as the caller says (see [`super`] for the rule), the
/// delimiter given or found. Row numbers are the lines the records start on.
pub fn read_csv(
    bytes: &[u8],
    encoding: Encoding,
    delimiter: Option<u8>,
) -> Result<Sheet, FileError> {
    let text = decode(bytes, encoding)?;
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let delimiter = match delimiter {
        Some(d) => d,
        None => sniff(&text)?,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut sheet = Sheet::default();
    // The line a record starts on, counted from its byte offset (the csv crate's own line
    // count does not count CRLF line ends, which Excel writes).
    let (mut seen, mut line) = (0usize, 1usize);
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(unreadable)?;
        let mut start = record.position().map_or(seen, |p| p.byte() as usize);
        // After a CRLF the position points at its LF: the record starts past it.
        while text
            .as_bytes()
            .get(start)
            .is_some_and(|b| *b == b'\r' || *b == b'\n')
        {
            start += 1;
        }
        line += text
            .as_bytes()
            .get(seen..start)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        seen = start.max(seen);
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if i == 0 {
            sheet.headers = cells;
        } else {
            sheet.rows.push((line, cells));
        }
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
}
