//! The default (CSV) event format: a header line `event,px,py,pz,e,pid`, then one particle per
//! row, the rows of one event consecutive and event numbers increasing.

use super::check;
use super::source::LineSource;
use super::{Event, Options, Particle, Step};
use crate::jets::error::Result;
use crate::jets::FourMomentum;
use crate::jets::JetError;

/// The header line of the default format.
pub(crate) const HEADER: &str = "event,px,py,pz,e,pid";

/// Column names, for messages.
const COLUMNS: [&str; 6] = ["event", "px", "py", "pz", "e", "pid"];

/// What one non-blank line held.
enum RowKind {
    Particle(Particle),
    /// A malformed row (or a truncated last line): why.
    Bad(String),
    /// The header line again (files concatenated with their headers).
    Header,
}

/// One row: the event it belongs to (when its first column reads as an event number), what it
/// held and where it was.
struct Row {
    event: Option<u64>,
    kind: RowKind,
    line: usize,
}

/// Streams events out of a CSV source whose header line has already been read.
pub(crate) struct CsvEvents {
    src: LineSource,
    /// The first row of the next event, read while looking for the end of the current one.
    pending: Option<Row>,
    /// The number and first line of the last event read in order, to check the next one's.
    previous: Option<(u64, usize)>,
    /// Size of the last event, to size the next one's vector.
    last_len: usize,
}

impl CsvEvents {
    pub(crate) fn new(src: LineSource) -> Self {
        CsvEvents {
            src,
            pending: None,
            previous: None,
            last_len: 0,
        }
    }

    pub(crate) fn source(&self) -> &LineSource {
        &self.src
    }

    /// The next event, a bad one (read to its end when lenient, so reading can go on), or the
    /// end of the input. `Err` only for what nothing can read past (I/O, corrupt gzip).
    pub(crate) fn next_event(&mut self, options: Options) -> Result<Step> {
        let first = loop {
            let row = match self.pending.take() {
                Some(row) => row,
                None => match self.next_row()? {
                    Some(row) => row,
                    None => return Ok(Step::End),
                },
            };
            // Concatenated files: a repeated header only marks where the next file begins, so
            // the event numbers that follow owe nothing to the ones before.
            if options.concatenated && matches!(row.kind, RowKind::Header) {
                self.previous = None;
                continue;
            }
            break row;
        };
        let number = first.event;
        let mut bad = None;
        let mut particles = Vec::with_capacity(self.last_len.max(16));
        match first.kind {
            RowKind::Particle(p) => particles.push(p),
            kind => bad = Some(self.row_error(first.line, number, kind)),
        }
        let mut in_order = true;
        if let (Some(n), Some((prev, prev_line)), false) =
            (number, self.previous, options.concatenated)
        {
            if n <= prev && bad.is_none() {
                in_order = false;
                bad = Some(self.src.error(
                    first.line,
                    format!(
                        "event {n} follows event {prev} (started at line {prev_line}): event \
                         numbers must increase and the rows of one event be consecutive (files \
                         concatenated from several jobs: read them with \
                         EventReader::concatenated)"
                    ),
                ));
            }
        }
        if !options.lenient {
            if let Some(e) = bad.take() {
                return Ok(Step::Bad(e));
            }
        }
        while let Some(row) = self.next_row()? {
            // A row whose event number cannot be read belongs to the event being read; a header
            // line belongs to none (it ends the event, which is whole).
            let same_event = match (&row.kind, row.event) {
                (RowKind::Header, _) => false,
                (_, None) => true,
                (_, Some(n)) => number == Some(n),
            };
            if !same_event {
                self.pending = Some(row);
                break;
            }
            match row.kind {
                RowKind::Particle(p) => {
                    if bad.is_none() {
                        particles.push(p);
                    }
                }
                kind => {
                    if bad.is_none() {
                        let e = self.row_error(row.line, number, kind);
                        if !options.lenient {
                            return Ok(Step::Bad(e));
                        }
                        bad = Some(e);
                    }
                }
            }
        }
        if let (Some(n), true) = (number, in_order) {
            self.previous = Some((n, first.line));
        }
        match (bad, number) {
            (Some(e), _) => Ok(Step::Bad(e)),
            (None, Some(number)) => {
                self.last_len = particles.len();
                Ok(Step::Event(Event { number, particles }))
            }
            (None, None) => Ok(Step::Bad(unreachable_error())),
        }
    }

    /// The error for a row that is not a particle.
    fn row_error(&self, line: usize, event: Option<u64>, kind: RowKind) -> JetError {
        let reason = match kind {
            RowKind::Bad(reason) => reason,
            RowKind::Header => format!(
                "the header line {HEADER:?} again (files concatenated with their headers: read \
                 them with EventReader::concatenated)"
            ),
            RowKind::Particle(_) => String::from("a good row reported as bad (a reader bug)"),
        };
        let reason = match event {
            Some(n) => format!("event {n}: {reason}"),
            None => reason,
        };
        self.src.error(line, reason)
    }

    fn next_row(&mut self) -> Result<Option<Row>> {
        let gzip = self.src.is_gzip();
        let Some((line, text)) = self.src.next_nonblank_record()? else {
            return Ok(None);
        };
        let (event, mut kind) = match text {
            Err(reason) => (None, RowKind::Bad(reason)),
            Ok(text) => match parse_row(text) {
                (event, Ok(particle)) => (event, RowKind::Particle(particle)),
                (None, Err(_)) if is_header(text) => (None, RowKind::Header),
                (event, Err(reason)) => (event, RowKind::Bad(reason)),
            },
        };
        // A plain file cut mid-write ends inside a line, and a cut inside the last field still
        // parses (pid 2112 reads as 21), so a last line without a newline counts as cut. Gzip
        // data is checked by its own length and CRC-32 instead (the decoder reports a cut).
        if !gzip && self.src.unterminated() {
            let mut reason = String::from(
                "the file ends inside this line (no newline after it), so its last field may be \
                 cut short: the file looks truncated (if it is complete, end it with a newline)",
            );
            if let RowKind::Bad(problem) = &kind {
                reason.push_str("; the line also reads as bad: ");
                reason.push_str(problem);
            }
            kind = RowKind::Bad(reason);
        }
        Ok(Some(Row { event, kind, line }))
    }
}

/// An error for a state the logic above never reaches, reported instead of a panic.
fn unreachable_error() -> JetError {
    JetError::input("CSV reader: an event without an event number (a reader bug)")
}

/// Parses `event,px,py,pz,e,pid` and checks the momentum; the event number is returned whenever
/// the first column reads as one, even when the rest of the row is bad.
fn parse_row(text: &str) -> (Option<u64>, Result<Particle, String>) {
    let mut fields = [""; 6];
    let mut n = 0;
    for field in text.split(',') {
        if n < fields.len() {
            fields[n] = field;
        }
        n += 1;
    }
    let event = check::event_number(fields[0]);
    let particle = (|| {
        if n != fields.len() {
            return Err(format!(
                "expected {} comma-separated columns ({HEADER}), found {n}",
                fields.len()
            ));
        }
        event.clone()?;
        let momentum = FourMomentum::new(
            check::float(fields[1], COLUMNS[1])?,
            check::float(fields[2], COLUMNS[2])?,
            check::float(fields[3], COLUMNS[3])?,
            check::float(fields[4], COLUMNS[4])?,
        );
        let pid = check::pid(fields[5])?;
        check::momentum(&momentum)?;
        Ok(Particle { momentum, pid })
    })();
    (event.ok(), particle)
}

/// Whether `line` is the default format's header (surrounding blanks and a byte-order mark are
/// tolerated; the column names and their order are not negotiable).
pub(crate) fn is_header(line: &str) -> bool {
    line.trim_start_matches('\u{feff}')
        .trim()
        .split(',')
        .map(str::trim)
        .eq(COLUMNS)
}
