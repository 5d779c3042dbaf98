//! Generator-level truth of the default sample: the Higgs mass and its b, b̄ quarks.

use std::io::Read;
use std::path::Path;

use super::check;
use super::source::{open_file, LineSource};
use crate::jets::error::Result;
use crate::jets::FourMomentum;

/// The header line of the truth file.
pub(crate) const HEADER: &str = "event,mh,b_px,b_py,b_pz,b_e,bbar_px,bbar_py,bbar_pz,bbar_e";

/// A plain file whose last line has no newline was cut mid-write (gzip checks itself).
const TRUNCATED: &str = "the file ends inside this line (no newline after it), so its last field \
                         may be cut short: the file looks truncated (if it is complete, end it \
                         with a newline)";

const COLUMNS: [&str; 10] = [
    "event", "mh", "b_px", "b_py", "b_pz", "b_e", "bbar_px", "bbar_py", "bbar_pz", "bbar_e",
];

/// What the generator produced for one event, before showering: the Higgs boson's mass (drawn
/// from its Breit–Wigner, ≈ 125 GeV) and the b and b̄ quarks it decayed to, in GeV.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruthRecord {
    /// The event number, as in the particles file.
    pub event: u64,
    /// The generated Higgs mass in GeV.
    pub mh: f64,
    /// The b quark from the Higgs decay.
    pub b: FourMomentum<f64>,
    /// The b̄ quark from the Higgs decay.
    pub bbar: FourMomentum<f64>,
}

/// Reads a truth file (`event,mh,b_px,b_py,b_pz,b_e,bbar_px,bbar_py,bbar_pz,bbar_e`, plain or gzip,
/// detected from the content) one record at a time.
///
/// Like [`EventReader`](super::EventReader) it yields `Err` for the first malformed line (a wrong
/// column count, a bad or non-finite number, a space-like quark momentum, a non-positive mass,
/// an event number not above the previous one, a plain file whose last line has no newline, as
/// a file cut mid-write has) and then stops.
///
/// ```
/// let truth: Vec<_> = stochad::jets::io::default_truth()?.collect::<Result<_, _>>()?;
/// assert_eq!(truth.len(), 1000);
/// assert!((truth[0].mh - 125.0).abs() < 1.0);
/// # Ok::<(), stochad::Error>(())
/// ```
pub struct TruthReader {
    src: LineSource,
    done: bool,
    last_event: Option<u64>,
}

impl TruthReader {
    /// Opens a truth file.
    pub fn open(path: impl AsRef<Path>) -> Result<TruthReader> {
        let path = path.as_ref();
        let file = open_file(path)?;
        TruthReader::from_reader(path.display().to_string(), file)
    }

    /// Reads truth records from any byte stream; `name` is what errors report as the file.
    pub fn from_reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
    ) -> Result<TruthReader> {
        let mut src = LineSource::new(name.into(), Box::new(reader))?;
        match src.next_nonblank()? {
            Some((line, text)) if is_header(text) => {
                if src.unterminated() && !src.is_gzip() {
                    return Err(src.error(line, TRUNCATED));
                }
                Ok(TruthReader {
                    src,
                    done: false,
                    last_event: None,
                })
            }
            Some((line, text)) => {
                let reason = format!(
                    "expected the truth header {HEADER:?}, found {:?}",
                    abbreviate(text)
                );
                Err(src.error(line, reason))
            }
            None => Err(src.error(0, "empty input: no truth header line")),
        }
    }

    fn next_record(&mut self) -> Result<Option<TruthRecord>> {
        let Some((line, text)) = self.src.next_nonblank()? else {
            return Ok(None);
        };
        let record = parse_record(text);
        // As for events: a plain file's last line without a newline may have lost digits.
        if self.src.unterminated() && !self.src.is_gzip() {
            return Err(self.src.error(line, TRUNCATED));
        }
        let record = record.map_err(|reason| self.src.error(line, reason))?;
        if let Some(last) = self.last_event {
            if record.event <= last {
                let reason = format!(
                    "event {} follows event {last}: event numbers must increase",
                    record.event
                );
                return Err(self.src.error(line, reason));
            }
        }
        self.last_event = Some(record.event);
        Ok(Some(record))
    }
}

impl Iterator for TruthReader {
    type Item = Result<TruthRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_record().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

fn is_header(line: &str) -> bool {
    line.trim_start_matches('\u{feff}')
        .trim()
        .split(',')
        .map(str::trim)
        .eq(COLUMNS)
}

/// The first characters of a line, for an error message.
pub(crate) fn abbreviate(text: &str) -> String {
    const KEEP: usize = 60;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn parse_record(text: &str) -> Result<TruthRecord, String> {
    let fields: Vec<&str> = text.split(',').collect();
    if fields.len() != COLUMNS.len() {
        return Err(format!(
            "expected {} comma-separated columns ({HEADER}), found {}",
            COLUMNS.len(),
            fields.len()
        ));
    }
    let event = check::event_number(fields[0])?;
    let mut values = [0.0; 9];
    for (k, value) in values.iter_mut().enumerate() {
        *value = check::float(fields[k + 1], COLUMNS[k + 1])?;
    }
    let [mh, bpx, bpy, bpz, be, qpx, qpy, qpz, qe] = values;
    if !(mh.is_finite() && mh > 0.0) {
        return Err(format!(
            "Higgs mass mh = {mh} is not a positive finite number"
        ));
    }
    let b = FourMomentum::new(bpx, bpy, bpz, be);
    let bbar = FourMomentum::new(qpx, qpy, qpz, qe);
    check::momentum(&b).map_err(|r| format!("b quark: {r}"))?;
    check::momentum(&bbar).map_err(|r| format!("b̄ quark: {r}"))?;
    Ok(TruthRecord { event, mh, b, bbar })
}
