//! The default (CSV) event format: a header line `event,px,py,pz,e,pid`, then one particle per
//! row, the rows of one event consecutive and event numbers increasing.

use super::check;
use super::source::LineSource;
use super::{Event, Particle};
use crate::error::Result;
use crate::jets::FourMomentum;

/// The header line of the default format.
pub(crate) const HEADER: &str = "event,px,py,pz,e,pid";

/// Column names, for messages.
const COLUMNS: [&str; 6] = ["event", "px", "py", "pz", "e", "pid"];

/// One parsed row: the event it belongs to, the particle and where it was.
struct Row {
    event: u64,
    particle: Particle,
    line: usize,
}

/// Streams events out of a CSV source whose header line has already been read.
pub(crate) struct CsvEvents {
    src: LineSource,
    /// The first row of the next event, read while looking for the end of the current one.
    pending: Option<Row>,
    /// Size of the last event, to size the next one's vector.
    last_len: usize,
}

impl CsvEvents {
    pub(crate) fn new(src: LineSource) -> Self {
        CsvEvents {
            src,
            pending: None,
            last_len: 0,
        }
    }

    pub(crate) fn source(&self) -> &LineSource {
        &self.src
    }

    /// The next event, or `None` at the end of the input.
    pub(crate) fn next_event(&mut self) -> Result<Option<Event>> {
        let first = match self.pending.take() {
            Some(row) => row,
            None => match self.next_row()? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let mut particles = Vec::with_capacity(self.last_len.max(16));
        particles.push(first.particle);
        while let Some(row) = self.next_row()? {
            if row.event == first.event {
                particles.push(row.particle);
                continue;
            }
            if row.event < first.event {
                return Err(self.src.error(
                    row.line,
                    format!(
                        "event {} follows event {} (started at line {}): event numbers must \
                         increase and the rows of one event be consecutive",
                        row.event, first.event, first.line
                    ),
                ));
            }
            self.pending = Some(row);
            break;
        }
        self.last_len = particles.len();
        Ok(Some(Event {
            number: first.event,
            particles,
        }))
    }

    fn next_row(&mut self) -> Result<Option<Row>> {
        let Some((line, text)) = self.src.next_nonblank()? else {
            return Ok(None);
        };
        match parse_row(text) {
            Ok((event, particle)) => Ok(Some(Row {
                event,
                particle,
                line,
            })),
            Err(reason) => Err(self.src.error(line, reason)),
        }
    }
}

/// Parses `event,px,py,pz,e,pid` and checks the momentum.
fn parse_row(text: &str) -> Result<(u64, Particle), String> {
    let mut fields = [""; 6];
    let mut n = 0;
    for field in text.split(',') {
        if n < fields.len() {
            fields[n] = field;
        }
        n += 1;
    }
    if n != fields.len() {
        return Err(format!(
            "expected {} comma-separated columns ({HEADER}), found {n}",
            fields.len()
        ));
    }
    let event = check::event_number(fields[0])?;
    let momentum = FourMomentum::new(
        check::float(fields[1], COLUMNS[1])?,
        check::float(fields[2], COLUMNS[2])?,
        check::float(fields[3], COLUMNS[3])?,
        check::float(fields[4], COLUMNS[4])?,
    );
    let pid = check::pid(fields[5])?;
    check::momentum(&momentum)?;
    Ok((event, Particle { momentum, pid }))
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
