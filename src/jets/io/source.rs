//! Line-by-line input shared by the parsers: gzip detected from the magic bytes, 1-based line
//! numbers, and read failures turned into errors that name the file and the line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Lines longer than this are rejected: no valid record comes near it, and a binary file without
/// newlines must not be read into memory whole.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

const BUFFER_BYTES: usize = 1 << 16;

/// Builds an [`Error::Parse`].
pub(crate) fn parse_error(file: &str, line: usize, reason: impl Into<String>) -> Error {
    Error::Parse {
        file: file.to_owned(),
        line,
        reason: reason.into(),
    }
}

/// Opens `path` for reading, naming it in the error.
pub(crate) fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Io {
        file: path.display().to_string(),
        source,
    })
}

/// A text stream read line by line (decompressed when the content is gzip).
pub(crate) struct LineSource {
    name: String,
    reader: Box<dyn BufRead + Send>,
    text: String,
    line: usize,
    gzip: bool,
}

impl LineSource {
    /// Wraps `inner`, looking at its first two bytes to decide whether it is gzip.
    pub(crate) fn new(name: String, mut inner: Box<dyn Read + Send>) -> Result<Self> {
        let mut magic = [0u8; 2];
        let mut got = 0;
        // A reader may hand out one byte at a time; loop until two bytes or the end.
        while got < magic.len() {
            match inner.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::Io { file: name, source }),
            }
        }
        let gzip = got == 2 && magic == GZIP_MAGIC;
        let whole = Cursor::new(magic[..got].to_vec()).chain(inner);
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                BUFFER_BYTES,
                MultiGzDecoder::new(whole),
            ))
        } else {
            Box::new(BufReader::with_capacity(BUFFER_BYTES, whole))
        };
        Ok(LineSource {
            name,
            reader,
            text: String::with_capacity(256),
            line: 0,
            gzip,
        })
    }

    /// The name errors report (the path, or the name given to `from_reader`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether the content was gzip-compressed.
    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// An [`Error::Parse`] at `line` of this source.
    pub(crate) fn error(&self, line: usize, reason: impl Into<String>) -> Error {
        parse_error(&self.name, line, reason)
    }

    /// The next line without its terminator (`\n` or `\r\n`) and its 1-based number, or `None` at
    /// the end of the input. A last line without a newline is returned like any other.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        // Reuse one allocation: the String's bytes become the read buffer and back.
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader).take(limit).read_until(b'\n', &mut bytes);
        let line = self.line + 1;
        match read {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(self.read_error(line, e)),
        }
        self.line = line;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        } else if bytes.len() > MAX_LINE_BYTES {
            return Err(self.error(line, format!("line longer than {MAX_LINE_BYTES} bytes")));
        }
        match String::from_utf8(bytes) {
            Ok(text) => {
                self.text = text;
                Ok(Some((line, &self.text)))
            }
            Err(e) => Err(self.error(
                line,
                format!(
                    "not valid UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to() + 1
                ),
            )),
        }
    }

    /// The next line that is not blank (blank lines carry no record in either format).
    pub(crate) fn next_nonblank(&mut self) -> Result<Option<(usize, &str)>> {
        loop {
            match self.next_line()? {
                None => return Ok(None),
                Some((_, text)) if text.trim().is_empty() => {}
                Some(_) => return Ok(Some((self.line, &self.text))),
            }
        }
    }

    /// A failed read: corrupt or truncated compressed data is a parse error at the line being
    /// read; anything else (a vanished file, a device error) an I/O error.
    fn read_error(&self, line: usize, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::UnexpectedEof => {
                let what = if self.gzip {
                    "corrupt or truncated gzip data"
                } else {
                    "bad data"
                };
                self.error(line, format!("{what}: {e}"))
            }
            _ => Error::Io {
                file: self.name.clone(),
                source: e,
            },
        }
    }
}
