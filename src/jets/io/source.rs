//! Line-by-line input shared by the parsers: gzip detected from the magic bytes, 1-based line
//! numbers, and read failures turned into errors that name the file and the line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::jets::error::Result;
use crate::jets::JetError;

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Lines longer than this are rejected: no valid record comes near it, and a binary file without
/// newlines must not be read into memory whole.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

const BUFFER_BYTES: usize = 1 << 16;

/// Builds an [`JetError::Parse`].
pub(crate) fn parse_error(file: &str, line: usize, reason: impl Into<String>) -> JetError {
    JetError::Parse {
        file: file.to_owned(),
        line,
        reason: reason.into(),
    }
}

/// Opens `path` for reading, naming it in the error.
pub(crate) fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| JetError::Io {
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
    /// Whether the last line read had no newline (it ended the input).
    unterminated: bool,
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
                Err(source) => return Err(JetError::Io { file: name, source }),
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
            unterminated: false,
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

    /// An [`JetError::Parse`] at `line` of this source.
    pub(crate) fn error(&self, line: usize, reason: impl Into<String>) -> JetError {
        parse_error(&self.name, line, reason)
    }

    /// The next line without its terminator (`\n` or `\r\n`) and its 1-based number, or `None` at
    /// the end of the input. A last line without a newline is returned like any other;
    /// [`LineSource::unterminated`] tells whether it had one. A problem confined to the line
    /// (text that is not UTF-8, a line over [`MAX_LINE_BYTES`]) comes back as
    /// `Some((line, Err(reason)))` with the whole line consumed, so a lenient reader can go on
    /// with the next one. `Err` is left for
    /// what nothing can read past: I/O errors and corrupt or truncated gzip data.
    pub(crate) fn next_record(&mut self) -> Result<Option<(usize, Result<&str, String>)>> {
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
        self.unterminated = bytes.last() != Some(&b'\n');
        if !self.unterminated {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        } else if bytes.len() > MAX_LINE_BYTES {
            // Read past the rest of the line without keeping it, so the next read starts on
            // the next line.
            self.unterminated = !self.skip_rest_of_line(line)?;
            return Ok(Some((
                line,
                Err(format!("line longer than {MAX_LINE_BYTES} bytes")),
            )));
        }
        match String::from_utf8(bytes) {
            Ok(text) => {
                self.text = text;
                Ok(Some((line, Ok(&self.text))))
            }
            Err(e) => Ok(Some((
                line,
                Err(format!(
                    "not valid UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to() + 1
                )),
            ))),
        }
    }

    /// Consumes input up to and including the next newline; whether there was one.
    fn skip_rest_of_line(&mut self, line: usize) -> Result<bool> {
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(line, e)),
            };
            if buf.is_empty() {
                return Ok(false);
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(k) => {
                    self.reader.consume(k + 1);
                    return Ok(true);
                }
                None => {
                    let n = buf.len();
                    self.reader.consume(n);
                }
            }
        }
    }

    /// Whether the line last returned ended the input without a newline. In a plain file that
    /// is how a file cut mid-write looks (a cut inside the last field still parses: pid 2112
    /// reads as 21); gzip data carries its own length and CRC-32, so there the decoder reports
    /// a cut instead.
    pub(crate) fn unterminated(&self) -> bool {
        self.unterminated
    }

    /// The text of the last line read (empty after a line that was not UTF-8 or too long).
    pub(crate) fn current_line(&self) -> &str {
        &self.text
    }

    /// The number of the last line read (0 before the first).
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// The next line that is not blank (blank lines carry no record in either format).
    pub(crate) fn next_nonblank(&mut self) -> Result<Option<(usize, &str)>> {
        match self.next_nonblank_record()? {
            None => Ok(None),
            Some((line, Err(reason))) => Err(self.error(line, reason)),
            Some((line, Ok(_))) => Ok(Some((line, &self.text))),
        }
    }

    /// [`LineSource::next_record`] without blank lines.
    pub(crate) fn next_nonblank_record(&mut self) -> Result<Option<(usize, Result<&str, String>)>> {
        loop {
            match self.next_record()? {
                None => return Ok(None),
                Some((_, Ok(text))) if text.trim().is_empty() => {}
                Some((line, Err(reason))) => return Ok(Some((line, Err(reason)))),
                Some((line, Ok(_))) => return Ok(Some((line, Ok(&self.text)))),
            }
        }
    }

    /// A failed read: corrupt or truncated compressed data is a parse error at the line being
    /// read; anything else (a vanished file, a device error) an I/O error.
    fn read_error(&self, line: usize, e: io::Error) -> JetError {
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
            _ => JetError::Io {
                file: self.name.clone(),
                source: e,
            },
        }
    }
}
