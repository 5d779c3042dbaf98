//! Event files: reading particles to cluster (the default CSV format and HepMC3 ASCII, plain or
//! gzip), writing the default format, the embedded default sample and its generator truth, and
//! explicit particle selections.
//!
//! # Reading
//! [`EventReader::open`] detects everything from the content, never from the file name: gzip
//! from the magic bytes `1f 8b`, then the format from the first line: `event,px,py,pz,e,pid` is
//! the default CSV format, `HepMC::Version …` or `HepMC::Asciiv3-START_EVENT_LISTING` HepMC3
//! ASCII. The reader streams: it holds one event at a time, so a file of 10⁶ events needs the
//! memory of one. It yields `Ok(event)` per event, the first problem as `Err`, and then stops
//! (unless asked to skip bad events, below).
//!
//! ```
//! use stochad::jets::io;
//!
//! let mut count = 0;
//! let mut particles = 0;
//! for event in io::default_sample()? {
//!     let event = event?;
//!     count += 1;
//!     particles += event.particles.len();
//! }
//! assert_eq!(count, 1000);
//! assert_eq!(particles, io::DEFAULT_SAMPLE_PARTICLES);
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! # The default format
//! CSV with the header line `event,px,py,pz,e,pid`, then one row per particle: the event number
//! (a non-negative integer), the four-momentum in GeV and the PDG id. The rows of one event are
//! consecutive and event numbers increase (strictly) from one event to the next, so a reader can
//! stream and a duplicated or misplaced event is caught (files concatenated from several jobs,
//! whose numbers restart, read with [`EventReader::concatenated`]). Blank lines are ignored;
//! `\r\n` line ends are accepted. Every line ends with a newline, the last one included (see
//! *Truncated files*). An event with no particles cannot be written in this format.
//! [`EventWriter`] writes it with every number in the shortest form that reads back exactly.
//!
//! # HepMC3 ASCII
//! Every particle with status 1 (final state) of every event is returned with its PDG id, in GeV
//! (a `U MEV …` line makes the reader divide by 1000; a unit holds until the next `U` line, GeV
//! before any). `V`, `W`, `A`, `T` and `N` lines are read past. Nothing is filtered: neutrinos,
//! the Z boson's leptons and particles at any η are all there.
//!
//! # Choosing what to cluster
//! A separate, explicit step. A [`Selection`] cuts on η and pT and drops species; apply it to
//! each event ([`Selection::filter`]). [`Selection::default_sample`] is the default sample's
//! acceptance. Dropping the decay products of a particle (the Z's leptons and the photons they
//! radiate, but not the leptons of hadron decays) needs the event's history, which only the
//! HepMC3 reader sees: ask for it with [`EventReader::drop_descendants_of`]. Together they turn
//! a Pythia HepMC3 file into exactly what the default sample's generator script keeps:
//!
//! ```no_run
//! use stochad::jets::io::{EventReader, Selection};
//!
//! let cuts = Selection::default_sample(); // no neutrinos, |η| < 4, pT > 0.5 GeV
//! for event in EventReader::open("events.hepmc3.gz")?.drop_descendants_of(&[23])? {
//!     let event = cuts.filter(event?);
//!     // cluster event.particles …
//! }
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! # Truncated files
//! A file cut mid-write (a job killed, a disk full, a copy interrupted) must not read as a
//! shorter valid one, least of all with a wrong number: a CSV row cut inside its last field
//! still parses (`…,2112` cut to `…,21` is a pion's id turned into a gluon's). So:
//! - a plain CSV file whose last line has no newline is reported as truncated at that line
//!   (naming the event when its number reads); a file that is complete but lacks the final
//!   newline only needs one added. A cut exactly at a line end cannot be seen: the format has
//!   no end marker, and the file reads as one with fewer rows (its last event possibly short).
//!   Compress files that travel: gzip carries the length and CRC-32 of its content, and a cut
//!   anywhere in it is reported as corrupt or truncated gzip data, so there the final newline
//!   is not required.
//! - a HepMC3 listing must end with `HepMC::Asciiv3-END_EVENT_LISTING` (HepMC3's writer writes
//!   it on close). Input that ends without it is reported at its last line, naming the event
//!   cut short and its `E` line; so is another file's `HepMC::Version` or `START_EVENT_LISTING`
//!   inside a listing (a cut file with another appended).
//!
//! # Real files: skipping bad events, concatenated jobs
//! Reading is strict by default: the first problem ends it. [`EventReader::skip_bad_events`]
//! (lenient mode) skips each bad event whole instead, and [`EventReader::skipped`] tells how
//! many were skipped and keeps the first errors, so nothing is dropped unseen.
//! [`EventReader::concatenated`] reads CSV files joined from several jobs, whose event numbers
//! restart. Both are opt-in and combine:
//!
//! ```
//! use std::io::Cursor;
//! use stochad::jets::io::EventReader;
//!
//! // Two jobs' output joined with `cat`; the second job wrote a NaN in event 1.
//! let text = "event,px,py,pz,e,pid\n0,1,0,0,2,211\n1,0,1,0,2,22\n\
//!             event,px,py,pz,e,pid\n0,0,0,1,2,-211\n1,0,0,1,NaN,-211\n2,1,1,0,3,2112\n";
//! let mut reader = EventReader::from_reader("jobs.csv", Cursor::new(text))?
//!     .concatenated()
//!     .skip_bad_events();
//! let mut events = 0;
//! for event in reader.by_ref() {
//!     let event = event?; // what cannot be skipped (I/O, corrupt gzip) still stops here
//!     events += 1;
//! }
//! assert_eq!(events, 4);
//! assert_eq!(reader.skipped().events(), 1);
//! eprintln!("{}", reader.skipped()); // 1 bad event skipped: jobs.csv:7: event 1: non-finite …
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! # Errors
//! Malformed input gives [`JetError::Parse`] with the file name, the 1-based
//! line and the reason; reading never panics. Checked: a first line that is neither header; the
//! column count of every CSV row (a truncated line has too few); every number (`bad number "1.2x"
//! in column px`); event numbers that decrease or repeat non-consecutively; non-finite momenta;
//! space-like momenta, E < |p|·(1 − [`MASS_SHELL_TOLERANCE`]); in HepMC3, `P` or `V` lines
//! before any `E` line, unknown record types, `P` lines with the wrong field count, an event
//! whose number of `P` lines differs from the count on its `E` line (reported at the `E` line),
//! and an event with no final-state particles (reported at its `E` line, not dropped), records
//! outside a listing; truncated files (see above); corrupt or truncated gzip data; lines over
//! 1 MiB and text that is not UTF-8. An input without even a
//! header line is reported at line 0. Failing to open or read a file is
//! [`JetError::Io`].

mod check;
mod csv;
mod hepmc;
mod history;
mod select;
mod source;
mod truth;
mod write;

use std::io::Read;
use std::path::Path;

pub use check::MASS_SHELL_TOLERANCE;
pub use select::Selection;
pub use truth::{TruthReader, TruthRecord};
pub use write::{Compression, EventWriter};

use crate::jets::error::Result;
use crate::jets::FourMomentum;
use crate::jets::JetError;
use source::{open_file, LineSource};

/// A final-state particle: its four-momentum (GeV) and PDG id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Particle {
    /// Four-momentum (px, py, pz, E) in GeV.
    pub momentum: FourMomentum<f64>,
    /// PDG Monte Carlo particle code (e.g. 211 for π⁺, 22 for a photon).
    pub pid: i32,
}

/// One collision event: its number in the file and its particles, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// The event number in the file.
    pub number: u64,
    /// The particles (never empty when the event comes from a reader).
    pub particles: Vec<Particle>,
}

/// The formats [`EventReader`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The default CSV format (`event,px,py,pz,e,pid`).
    Csv,
    /// HepMC3 ASCII (`Asciiv3`).
    HepMc3,
}

enum Parser {
    Csv(csv::CsvEvents),
    HepMc(hepmc::HepMcEvents),
}

/// How a reader treats bad events and restarting event numbers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    /// Skip bad events (and count them) instead of stopping at the first.
    lenient: bool,
    /// CSV: event numbers may restart (files concatenated from several jobs).
    concatenated: bool,
}

/// What a parser found next.
pub(crate) enum Step {
    /// A good event.
    Event(Event),
    /// A bad event. When reading leniently the parser has read to its end, so reading can go
    /// on with the next event; otherwise it stopped at the problem.
    Bad(JetError),
    /// The end of the input.
    End,
}

/// What a lenient reader ([`EventReader::skip_bad_events`]) skipped: how many events, and the
/// first [`Skipped::KEPT_ERRORS`] errors (which say what was wrong, in which file, at which line
/// and, where it could be read, in which event). Its `Display` is a one-paragraph summary.
#[derive(Debug, Default)]
pub struct Skipped {
    events: usize,
    errors: Vec<JetError>,
}

impl Skipped {
    /// How many errors are kept: the count goes on, the messages stop (a file with a systematic
    /// problem would otherwise hold one per event in memory).
    pub const KEPT_ERRORS: usize = 10;

    /// How many bad events were skipped.
    pub fn events(&self) -> usize {
        self.events
    }

    /// The errors of the first [`Skipped::KEPT_ERRORS`] skipped events, in file order.
    pub fn errors(&self) -> &[JetError] {
        &self.errors
    }

    /// Whether nothing was skipped.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    fn record(&mut self, error: JetError) {
        self.events += 1;
        if self.errors.len() < Self::KEPT_ERRORS {
            self.errors.push(error);
        }
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.events == 1 { "" } else { "s" };
        write!(f, "{} bad event{plural} skipped", self.events)?;
        for (k, e) in self.errors.iter().enumerate() {
            write!(f, "{}{e}", if k == 0 { ": " } else { "; " })?;
        }
        if self.events > self.errors.len() {
            write!(f, "; …")?;
        }
        Ok(())
    }
}

/// Streams events out of a file or byte stream, one at a time, in the default CSV format or
/// HepMC3 ASCII, plain or gzip (detected from the content; see the [module docs](self)).
///
/// An iterator of `Result<Event>`. By default (strict) it stops after the first `Err`, yielding
/// `None` from then on; [`EventReader::skip_bad_events`] makes it skip bad events instead and
/// count them in [`EventReader::skipped`].
pub struct EventReader {
    parser: Parser,
    options: Options,
    skipped: Skipped,
    done: bool,
}

impl EventReader {
    /// Opens an event file, detecting compression and format from its first bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<EventReader> {
        let path = path.as_ref();
        let file = open_file(path)?;
        EventReader::from_reader(path.display().to_string(), file)
    }

    /// Reads events from any byte stream (e.g. `std::io::Cursor<Vec<u8>>` or a `&'static [u8]`);
    /// `name` is what errors report as the file. Reads the first line to detect the format.
    pub fn from_reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
    ) -> Result<EventReader> {
        let mut src = LineSource::new(name.into(), Box::new(reader))?;
        let format = match src.next_nonblank()? {
            Some((line, text)) if csv::is_header(text) => {
                // A plain CSV file cut inside its header line (or right after it, before the
                // newline) is as truncated as one cut inside a row.
                if src.unterminated() && !src.is_gzip() {
                    let reason = "the file ends inside its header line (no newline after it): \
                                  the file looks truncated (if it is complete, end it with a \
                                  newline)";
                    return Err(src.error(line, reason));
                }
                Format::Csv
            }
            Some((_, text)) if hepmc::is_header(text) => Format::HepMc3,
            Some((line, text)) => {
                let hint = if text.starts_with("HepMC::IO_GenEvent") {
                    " (this is HepMC2, which is not supported; convert it to HepMC3)"
                } else {
                    ""
                };
                let reason = format!(
                    "unrecognised event format: the first line {:?} is neither the CSV header \
                     {:?} nor a HepMC3 ASCII header{hint}",
                    truth::abbreviate(text),
                    csv::HEADER
                );
                return Err(src.error(line, reason));
            }
            None => return Err(src.error(0, "empty input: no header line")),
        };
        let parser = match format {
            Format::Csv => Parser::Csv(csv::CsvEvents::new(src)),
            Format::HepMc3 => {
                let first = src.current_line().to_owned();
                Parser::HepMc(hepmc::HepMcEvents::new(src, &first))
            }
        };
        Ok(EventReader {
            parser,
            options: Options::default(),
            skipped: Skipped::default(),
            done: false,
        })
    }

    /// Lenient mode: skip a bad event and go on with the next, instead of stopping at the first
    /// problem (the default, strict mode). Every skipped event is counted, and the first errors
    /// are kept: see [`EventReader::skipped`]. For real files where one bad particle should not
    /// cost the whole file.
    ///
    /// What is skipped is the whole event a problem is in, never a single particle (a partial
    /// event would bias what is computed from it):
    /// - CSV: a malformed row (bad column count or number, non-finite or space-like momentum,
    ///   text that is not UTF-8, a line over 1 MiB) spoils the event named in its first column,
    ///   or, when that does not read as an event number, the event being read; an event whose
    ///   number does not increase (without [`EventReader::concatenated`]) is skipped whole; a
    ///   stray header line counts as one skipped event; a truncated last line spoils its event.
    /// - HepMC3: a bad `E`, `P`, `U` or `V` line or an unknown record spoils the event it is in
    ///   (lines before the first `E` line of a listing count as one event); so do a particle
    ///   count that differs from the `E` line's, an event with no final-state particle, and an
    ///   event cut short by the end of the input or by another file's header.
    ///
    /// What no reader can go on after still ends the reading with an `Err`: I/O errors, corrupt
    /// or truncated gzip data, and a broken HepMC3 listing structure outside any event (a
    /// record outside a listing, an unsupported framing line, a file without events that ends
    /// without its end marker).
    ///
    /// ```
    /// use std::io::Cursor;
    /// use stochad::jets::io::EventReader;
    ///
    /// // Event 1 has a particle with a bad energy; events 0 and 2 are fine.
    /// let text = "event,px,py,pz,e,pid\n\
    ///             0,1,0,0,2,211\n\
    ///             1,1,0,0,oops,211\n1,0,1,0,2,22\n\
    ///             2,0,0,1,2,-211\n";
    /// let mut reader =
    ///     EventReader::from_reader("jobs.csv", Cursor::new(text)).unwrap().skip_bad_events();
    /// let numbers: Vec<u64> = reader.by_ref().map(|e| e.map(|e| e.number)).collect::<Result<_, _>>()?;
    /// assert_eq!(numbers, [0, 2]);
    /// let skipped = reader.skipped();
    /// assert_eq!(skipped.events(), 1);
    /// assert_eq!(
    ///     skipped.errors()[0].to_string(),
    ///     "jobs.csv:3: event 1: bad number \"oops\" in column e"
    /// );
    /// # Ok::<(), stochad::Error>(())
    /// ```
    pub fn skip_bad_events(mut self) -> EventReader {
        self.options.lenient = true;
        self
    }

    /// Accept CSV files concatenated from several jobs: a new event starts wherever the event
    /// number changes, so numbers may restart, and a repeated header line (as `cat` leaves
    /// between files) marks where one file ends and the next begins. Without it (the default)
    /// event numbers must increase, which catches a duplicated or misplaced event; with it that
    /// check is gone (an event's rows must still be consecutive, but a stray row of an earlier
    /// event reads as an event of its own). [`Event::number`] then repeats across files: count
    /// events yourself if you need a unique index. Gzip files concatenated as they are
    /// (`cat a.csv.gz b.csv.gz`) are one valid gzip stream and read the same way.
    ///
    /// HepMC3 files need no option: listings may follow one another and event numbers are
    /// not checked, so this changes nothing for them.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use stochad::jets::io::EventReader;
    ///
    /// // Two jobs' files, joined with `cat`: each numbers its events from 0 and has a header.
    /// let job = "event,px,py,pz,e,pid\n0,1,0,0,2,211\n0,0,1,0,1,22\n1,0,0,1,2,-211\n";
    /// let joined = format!("{job}{job}");
    /// let events: Vec<_> = EventReader::from_reader("all.csv", Cursor::new(joined.clone()))?
    ///     .concatenated()
    ///     .collect::<Result<_, _>>()?;
    /// let numbers: Vec<u64> = events.iter().map(|e| e.number).collect();
    /// assert_eq!(numbers, [0, 1, 0, 1]);
    /// assert_eq!(events[2].particles.len(), 2);
    ///
    /// // Strict reading (the default) rejects the restart and says what to do.
    /// let strict: Result<Vec<_>, _> =
    ///     EventReader::from_reader("all.csv", Cursor::new(joined))?.collect();
    /// assert!(strict.unwrap_err().to_string().contains("EventReader::concatenated"));
    /// # Ok::<(), stochad::Error>(())
    /// ```
    pub fn concatenated(mut self) -> EventReader {
        self.options.concatenated = true;
        self
    }

    /// What a lenient reader ([`EventReader::skip_bad_events`]) has skipped so far: the count
    /// and the first errors. Always empty for a strict reader, which stops at its first error
    /// instead. Iterate with `reader.by_ref()` to keep the reader for this call.
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// Makes a HepMC3 reader drop the final-state particles that descend from any particle with
    /// one of these PDG ids (signed: list both signs for a charged species), following the
    /// file's production vertices. For example `drop_descendants_of(&[23])` removes the Z boson's
    /// leptons and the photons they radiate but keeps leptons from hadron decays, which a cut on
    /// species would lose. Fails with [`JetError::InvalidInput`] for
    /// the CSV format, which has no history.
    ///
    /// This is the one selection that needs the reader, because only the reader sees the
    /// history; it happens only when asked for. An event whose final state it empties is
    /// reported as an error like any empty event.
    pub fn drop_descendants_of(mut self, pids: &[i32]) -> Result<EventReader> {
        match &mut self.parser {
            Parser::HepMc(p) => {
                p.drop_descendants_of(pids);
                Ok(self)
            }
            Parser::Csv(_) => Err(JetError::input(format!(
                "{}: drop_descendants_of needs a decay history, which only HepMC3 files have; \
                 the default CSV format holds final-state particles only",
                self.name()
            ))),
        }
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        match self.parser {
            Parser::Csv(_) => Format::Csv,
            Parser::HepMc(_) => Format::HepMc3,
        }
    }

    /// Whether the content is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.source().is_gzip()
    }

    /// The name errors report (the path, or the name given to [`EventReader::from_reader`]).
    pub fn name(&self) -> &str {
        self.source().name()
    }

    fn source(&self) -> &LineSource {
        match &self.parser {
            Parser::Csv(p) => p.source(),
            Parser::HepMc(p) => p.source(),
        }
    }
}

impl Iterator for EventReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let step = match &mut self.parser {
                Parser::Csv(p) => p.next_event(self.options),
                Parser::HepMc(p) => p.next_event(self.options),
            };
            match step {
                Ok(Step::Event(event)) => return Some(Ok(event)),
                Ok(Step::Bad(e)) if self.options.lenient => self.skipped.record(e),
                Ok(Step::Bad(e)) | Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(Step::End) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

impl std::iter::FusedIterator for EventReader {}

/// The embedded default sample (see `data/README.md`): pp → ZH, Z → ℓℓ, H → bb̄ at 13.6 TeV.
static DEFAULT_PARTICLES: &[u8] = include_bytes!("../../../data/zh_llbb_13p6tev_particles.csv.gz");
static DEFAULT_TRUTH: &[u8] = include_bytes!("../../../data/zh_llbb_13p6tev_truth.csv.gz");

/// Number of events in the default sample.
pub const DEFAULT_SAMPLE_EVENTS: usize = 1000;

/// Number of particles in the default sample (131.0 per event on average, 319 at most).
pub const DEFAULT_SAMPLE_PARTICLES: usize = 131_031;

/// A reader over the default sample, embedded in the library: 1000 Pythia 8.318 events
/// pp → ZH → ℓ⁺ℓ⁻bb̄ at √s = 13.6 TeV, final-state particles without neutrinos and without the
/// Z's decay products, |η| < 4, pT > 0.5 GeV (details in `data/README.md`).
pub fn default_sample() -> Result<EventReader> {
    EventReader::from_reader(
        "zh_llbb_13p6tev_particles.csv.gz (embedded)",
        DEFAULT_PARTICLES,
    )
}

/// The generator truth of the default sample (Higgs mass, b and b̄ quarks), one record per event.
pub fn default_truth() -> Result<TruthReader> {
    TruthReader::from_reader("zh_llbb_13p6tev_truth.csv.gz (embedded)", DEFAULT_TRUTH)
}
