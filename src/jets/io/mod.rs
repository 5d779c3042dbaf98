//! Event files: reading particles to cluster (the default CSV format and HepMC3 ASCII, plain or
//! gzip), writing the default format, the embedded default sample and its generator truth, and
//! explicit particle selections.
//!
//! # Reading
//! [`EventReader::open`] detects everything from the content, never from the file name: gzip
//! from the magic bytes `1f 8b`, then the format from the first line: `event,px,py,pz,e,pid` is
//! the default CSV format, `HepMC::Version …` or `HepMC::Asciiv3-START_EVENT_LISTING` HepMC3
//! ASCII. The reader streams: it holds one event at a time, so a file of 10⁶ events needs the
//! memory of one. It yields `Ok(event)` per event, the first problem as `Err`, and then stops.
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
//! stream and a duplicated or misplaced event is caught. Blank lines are ignored; `\r\n` line
//! ends are accepted. An event with no particles cannot be written in this format.
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
//! # Errors
//! Malformed input gives [`Error::Parse`](crate::Error::Parse) with the file name, the 1-based
//! line and the reason; reading never panics. Checked: a first line that is neither header; the
//! column count of every CSV row (a truncated line has too few); every number (`bad number "1.2x"
//! in column px`); event numbers that decrease or repeat non-consecutively; non-finite momenta;
//! space-like momenta, E < |p|·(1 − [`MASS_SHELL_TOLERANCE`]); in HepMC3, `P` or `V` lines
//! before any `E` line, unknown record types, `P` lines with the wrong field count, an event
//! whose number of `P` lines differs from the count on its `E` line (reported at the `E` line),
//! and an event with no final-state particles (reported at its `E` line, not dropped); corrupt
//! or truncated gzip data; lines over 1 MiB and text that is not UTF-8. An input without even a
//! header line is reported at line 0. Failing to open or read a file is
//! [`Error::Io`](crate::Error::Io).

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

use crate::error::Result;
use crate::jets::FourMomentum;
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

/// Streams events out of a file or byte stream, one at a time, in the default CSV format or
/// HepMC3 ASCII, plain or gzip (detected from the content; see the [module docs](self)).
///
/// An iterator of `Result<Event>`: after the first `Err` it yields `None`.
pub struct EventReader {
    parser: Parser,
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
            Some((_, text)) if csv::is_header(text) => Format::Csv,
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
            Format::HepMc3 => Parser::HepMc(hepmc::HepMcEvents::new(src)),
        };
        Ok(EventReader {
            parser,
            done: false,
        })
    }

    /// Makes a HepMC3 reader drop the final-state particles that descend from any particle with
    /// one of these PDG ids (signed: list both signs for a charged species), following the
    /// file's production vertices. For example `drop_descendants_of(&[23])` removes the Z boson's
    /// leptons and the photons they radiate but keeps leptons from hadron decays, which a cut on
    /// species would lose. Fails with [`Error::InvalidConfig`](crate::Error::InvalidConfig) for
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
            Parser::Csv(_) => Err(crate::Error::config(format!(
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
        let item = match &mut self.parser {
            Parser::Csv(p) => p.next_event(),
            Parser::HepMc(p) => p.next_event(),
        }
        .transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
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
