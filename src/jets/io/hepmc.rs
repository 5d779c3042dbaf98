//! HepMC3 ASCII (`Asciiv3`) events: the final-state (status 1) particles of every event.
//!
//! Records used: `E number n_vertices n_particles [@ x y z t]` opens an event;
//! `U momentum_unit length_unit` (`GEV` or `MEV`; converted to GeV); `P id parent pid px py pz e
//! m status`. `V` vertex lines, `W` weights, `A` attributes, `T` tool lines and `N` weight names
//! are read and ignored. The `HepMC::Version` and `HepMC::Asciiv3-START/END_EVENT_LISTING`
//! framing lines are checked: every record is inside a listing and every listing is closed
//! (several may follow one another, e.g. concatenated files), so a cut file is caught.

use super::check;
use super::history::History;
use super::source::LineSource;
use super::{Event, Options, Particle, Step};
use crate::jets::error::Result;
use crate::jets::FourMomentum;
use crate::jets::JetError;

/// HepMC's status code of a final-state (undecayed physical) particle.
const FINAL_STATE: i32 = 1;

/// Never reserve more than this many particles from a declared count: a corrupt header must not
/// make us allocate (or abort on) a huge vector.
const MAX_RESERVE: usize = 4096;

/// Whether `line` opens a HepMC3 ASCII file.
pub(crate) fn is_header(line: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}').trim_start();
    line.starts_with("HepMC::Version") || line.starts_with("HepMC::Asciiv3-START_EVENT_LISTING")
}

/// An `E` line: the event it opens.
struct Header {
    /// `None` for a bad `E` line, or for lines outside any event (lenient mode only).
    number: Option<u64>,
    declared_particles: usize,
    line: usize,
}

impl Header {
    /// How messages name the event.
    fn describe(&self) -> String {
        match self.number {
            Some(n) => format!("event {n} (E line {})", self.line),
            None => format!("the event at line {}", self.line),
        }
    }
}

/// The end marker a complete listing has.
const END: &str = "HepMC::Asciiv3-END_EVENT_LISTING";

/// Streams events out of a HepMC3 ASCII source whose first line has already been read.
pub(crate) struct HepMcEvents {
    src: LineSource,
    /// The `E` line of the next event, read while looking for the end of the current one, and
    /// the error that line gave (lenient mode).
    pending: Option<(Header, Option<JetError>)>,
    /// Momentum units per GeV of the lines that follow (a `U` line sets it; it stays until the
    /// next). Dividing by 1000 rounds MeV values correctly; multiplying by 10⁻³ would not.
    units_per_gev: f64,
    /// Kept only when descendants of some species are to be dropped.
    history: Option<History>,
    /// The line of the open listing's `START_EVENT_LISTING`, until its `END_EVENT_LISTING`.
    listing: Option<usize>,
    /// Whether any listing was opened: a file cut right after its `HepMC::Version` has none.
    any_listing: bool,
}

impl HepMcEvents {
    /// `first` is the header line already read (`HepMC::Version …` or the listing's start).
    pub(crate) fn new(src: LineSource, first: &str) -> Self {
        let opened = first
            .trim_start_matches('\u{feff}')
            .trim()
            .starts_with("HepMC::Asciiv3-START_EVENT_LISTING");
        let line = src.line();
        HepMcEvents {
            src,
            pending: None,
            units_per_gev: 1.0,
            history: None,
            listing: opened.then_some(line),
            any_listing: opened,
        }
    }

    /// From now on drop the final-state particles that descend from a particle with one of
    /// these PDG ids.
    pub(crate) fn drop_descendants_of(&mut self, pids: &[i32]) {
        let mut exclude = self
            .history
            .take()
            .map(History::into_excluded)
            .unwrap_or_default();
        for &pid in pids {
            if !exclude.contains(&pid) {
                exclude.push(pid);
            }
        }
        self.history = Some(History::new(exclude));
    }

    pub(crate) fn source(&self) -> &LineSource {
        &self.src
    }

    /// The next event, a bad one (read to its end when lenient, so reading can go on), or the
    /// end of the input. `Err` for what nothing can read past: I/O, corrupt gzip, a broken
    /// listing structure outside any event.
    pub(crate) fn next_event(&mut self, options: Options) -> Result<Step> {
        let (mut current, mut bad) = match self.pending.take() {
            Some((header, error)) => (Some(header), error),
            None => (None, None),
        };
        // (particle id, particle) of the final-state particles.
        let mut finals: Vec<(u64, Particle)> = Vec::new();
        let mut seen = 0usize;
        if let Some(history) = &mut self.history {
            history.clear();
        }
        // A problem inside an event: strict reading stops here; lenient reading remembers the
        // first one and reads on to the event's end. Lines outside any event count as one.
        macro_rules! fail {
            ($line:expr, $reason:expr) => {{
                let e = self.src.error($line, $reason);
                if !options.lenient {
                    return Ok(Step::Bad(e));
                }
                if current.is_none() {
                    current = Some(Header {
                        number: None,
                        declared_particles: 0,
                        line: $line,
                    });
                }
                bad.get_or_insert(e);
                continue;
            }};
        }
        loop {
            let (line, text) = match self.src.next_nonblank_record()? {
                None => break,
                Some((line, Err(reason))) => fail!(line, reason),
                Some((line, Ok(text))) => (line, text.trim()),
            };
            if let Some(framing) = text.strip_prefix("HepMC::") {
                let version = framing.starts_with("Version");
                if version || framing == "Asciiv3-START_EVENT_LISTING" {
                    let start = !version;
                    // A new file's header inside a listing: the file before it was cut.
                    if let Some(opened) = self.listing {
                        let reason = format!(
                            "{text:?} inside the listing opened at line {opened}, which has no \
                             {END:?}: a truncated file followed by another"
                        );
                        self.listing = start.then_some(line);
                        self.any_listing |= start;
                        match &current {
                            Some(header) => {
                                let reason =
                                    format!("{} is cut short: {reason}", header.describe());
                                fail!(line, reason)
                            }
                            None => return Err(self.src.error(line, reason)),
                        }
                    }
                    if start {
                        self.listing = Some(line);
                        self.any_listing = true;
                    }
                    continue;
                }
                if framing == "Asciiv3-END_EVENT_LISTING" {
                    if self.listing.take().is_none() {
                        return Err(self.src.error(
                            line,
                            format!("{END:?} without an open listing (no START_EVENT_LISTING)"),
                        ));
                    }
                    if current.is_some() {
                        break;
                    }
                    continue;
                }
                let hint = if framing.starts_with("IO_GenEvent") {
                    " (this is HepMC2)"
                } else {
                    ""
                };
                let reason = format!(
                    "unsupported HepMC framing line {text:?}{hint}: only HepMC3 Asciiv3 is read"
                );
                return Err(self.src.error(line, reason));
            }
            if self.listing.is_none() {
                let reason = if self.any_listing {
                    format!("a record after {END:?} (expected a new listing or the end)")
                } else {
                    "a record before HepMC::Asciiv3-START_EVENT_LISTING".to_owned()
                };
                return Err(self.src.error(line, reason));
            }
            let mut tokens = text.split_ascii_whitespace();
            let record = tokens.next().unwrap_or_default();
            match record {
                "E" => {
                    let (header, error) = match parse_event_line(tokens, line) {
                        Ok(header) => (header, None),
                        Err(reason) => {
                            let e = self.src.error(line, reason);
                            if !options.lenient {
                                return Ok(Step::Bad(e));
                            }
                            let header = Header {
                                number: None,
                                declared_particles: 0,
                                line,
                            };
                            (header, Some(e))
                        }
                    };
                    if current.is_some() {
                        self.pending = Some((header, error));
                        break;
                    }
                    finals.reserve(header.declared_particles.min(MAX_RESERVE));
                    current = Some(header);
                    bad = error;
                }
                "U" => match parse_units(tokens) {
                    Ok(units) => self.units_per_gev = units,
                    Err(r) => fail!(line, r),
                },
                "P" => {
                    if current.is_none() {
                        fail!(line, "P line before any E (event) line");
                    }
                    if bad.is_some() {
                        continue;
                    }
                    seen += 1;
                    let scale = self.units_per_gev;
                    let p = match parse_particle(tokens, scale) {
                        Ok(p) => p,
                        Err(r) => fail!(line, r),
                    };
                    if let Some(history) = &mut self.history {
                        history.add_particle(p.id, p.particle.pid, p.parent);
                    }
                    if p.status == FINAL_STATE {
                        // Intermediate particles (partons, decayed hadrons) may be off-shell;
                        // only what we hand out is checked.
                        if let Err(r) = check::momentum(&p.particle.momentum) {
                            fail!(line, r);
                        }
                        finals.push((p.id, p.particle));
                    }
                }
                "V" => {
                    if current.is_none() {
                        fail!(line, "V line before any E (event) line");
                    }
                    if bad.is_some() {
                        continue;
                    }
                    if let Some(history) = &mut self.history {
                        match parse_vertex(text) {
                            Ok((id, incoming)) => history.add_vertex(id, incoming),
                            Err(r) => fail!(line, r),
                        }
                    }
                }
                "W" | "A" | "T" | "N" => {}
                _ => {
                    let reason = format!(
                        "unknown HepMC3 record type {record:?} (expected E, U, P, V, W, A, T or N)"
                    );
                    fail!(line, reason);
                }
            }
        }
        // The end of the input inside a listing: the file was cut (or its writer never closed).
        if let (Some(opened), true) = (self.listing, self.pending.is_none()) {
            let last = self.src.line();
            self.listing = None;
            let reason = format!(
                "the input ends at line {last} without {END:?} (listing opened at line \
                 {opened}): the file is truncated or its writer was not closed"
            );
            match &current {
                Some(header) => {
                    let reason = format!("{} may be incomplete: {reason}", header.describe());
                    // Lenient reading keeps the event's first problem.
                    let e = self.src.error(last, reason);
                    bad.get_or_insert(e);
                }
                None => return Err(self.src.error(last, reason)),
            }
        } else if !self.any_listing && self.pending.is_none() && current.is_none() {
            self.any_listing = true;
            return Err(self.src.error(
                self.src.line(),
                "the input ends before HepMC::Asciiv3-START_EVENT_LISTING: the file is truncated",
            ));
        }
        let Some(header) = current else {
            return Ok(Step::End);
        };
        if let Some(e) = bad {
            return Ok(Step::Bad(e));
        }
        let number = header.number.unwrap_or_default();
        if seen != header.declared_particles {
            return Ok(Step::Bad(self.src.error(
                header.line,
                format!(
                    "event {number} declares {} particles but {seen} P lines follow (truncated \
                     event?)",
                    header.declared_particles
                ),
            )));
        }
        let particles: Vec<Particle> = match &mut self.history {
            None => finals.into_iter().map(|(_, p)| p).collect(),
            Some(history) => finals
                .into_iter()
                .filter(|&(id, _)| !history.descends(id))
                .map(|(_, p)| p)
                .collect(),
        };
        if particles.is_empty() {
            return Ok(Step::Bad(self.src.error(
                header.line,
                format!("event {number} has no final-state (status 1) particles"),
            )));
        }
        Ok(Step::Event(Event { number, particles }))
    }
}

/// `E number n_vertices n_particles [@ x y z t]` (after the `E`).
fn parse_event_line<'a>(
    mut tokens: impl Iterator<Item = &'a str>,
    line: usize,
) -> Result<Header, String> {
    let number = tokens.next().ok_or("E line without an event number")?;
    let number = check::event_number(number)?;
    let _vertices = tokens.next().ok_or("E line without a vertex count")?;
    let declared = tokens.next().ok_or("E line without a particle count")?;
    let declared_particles = declared
        .parse::<usize>()
        .map_err(|_| format!("bad particle count {declared:?} on E line"))?;
    Ok(Header {
        number: Some(number),
        declared_particles,
        line,
    })
}

/// `U momentum_unit length_unit` (after the `U`): momentum units per GeV.
fn parse_units<'a>(mut tokens: impl Iterator<Item = &'a str>) -> Result<f64, String> {
    match tokens.next() {
        Some("GEV") => Ok(1.0),
        Some("MEV") => Ok(1e3),
        Some(other) => Err(format!(
            "unknown momentum unit {other:?} (expected GEV or MEV)"
        )),
        None => Err("U line without units".to_owned()),
    }
}

/// One `P` line.
struct PLine {
    id: u64,
    parent: i64,
    status: i32,
    particle: Particle,
}

/// `P id parent pid px py pz e m status` (after the `P`); momenta converted to GeV.
fn parse_particle<'a>(
    tokens: impl Iterator<Item = &'a str>,
    units_per_gev: f64,
) -> Result<PLine, String> {
    let mut fields = [""; 9];
    let mut n = 0;
    for token in tokens {
        if n < fields.len() {
            fields[n] = token;
        }
        n += 1;
    }
    if n != fields.len() {
        return Err(format!(
            "P line has {} fields, expected 10 (P id parent pid px py pz e m status)",
            n + 1
        ));
    }
    let id = fields[0]
        .parse::<u64>()
        .map_err(|_| format!("bad particle number {:?} on P line", fields[0]))?;
    let parent = fields[1]
        .parse::<i64>()
        .map_err(|_| format!("bad parent {:?} on P line", fields[1]))?;
    let status = fields[8]
        .parse::<i32>()
        .map_err(|_| format!("bad status {:?} on P line", fields[8]))?;
    let pid = check::pid(fields[2])?;
    let momentum = FourMomentum::new(
        check::float(fields[3], "px")? / units_per_gev,
        check::float(fields[4], "py")? / units_per_gev,
        check::float(fields[5], "pz")? / units_per_gev,
        check::float(fields[6], "e")? / units_per_gev,
    );
    Ok(PLine {
        id,
        parent,
        status,
        particle: Particle { momentum, pid },
    })
}

/// `V id status [in1,in2,...] [@ x y z t]`: the vertex id and its incoming particles.
fn parse_vertex(text: &str) -> Result<(i64, Vec<u64>), String> {
    let mut tokens = text.split_ascii_whitespace().skip(1);
    let id = tokens.next().ok_or("V line without a vertex id")?;
    let id = id
        .parse::<i64>()
        .map_err(|_| format!("bad vertex id {id:?} on V line"))?;
    let (Some(open), Some(close)) = (text.find('['), text.find(']')) else {
        return Err("V line without its [incoming particles] list".to_owned());
    };
    if close < open {
        return Err("V line with a malformed [incoming particles] list".to_owned());
    }
    let incoming = text[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| format!("bad incoming particle {t:?} on V line"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((id, incoming))
}
