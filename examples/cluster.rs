//! Clusters every event of a file and writes the inclusive jets as CSV.
//!
//! ```text
//! cargo run --release --example cluster -- [--events FILE|-] [--algorithm antikt|kt|cambridge]
//!     [--radius R] [--ptmin GEV] [--output FILE|-]
//!     [--drop-neutrinos] [--drop-pids ID,ID,..] [--max-abs-eta ETA] [--min-particle-pt GEV]
//!     [--drop-descendants-of ID,ID,..]
//! ```
//! Without `--events` it reads the embedded default sample; `-` reads standard input. Every
//! particle read is clustered unless a selection flag says otherwise: `--drop-neutrinos`,
//! `--drop-pids` (by |PDG id|), `--max-abs-eta`, `--min-particle-pt`, and for HepMC3 input
//! `--drop-descendants-of` (e.g. `23` to leave out the Z boson's leptons). Output (standard
//! output without `--output`, or with `--output -`): `event,jet,px,py,pz,e,n_constituents`, the
//! jets of an event by decreasing pt numbered from 0, numbers printed with the shortest
//! representation that reads back to the same double. A file given to `--output` appears only
//! when the run succeeds: the jets go to a temporary file beside it, renamed into place at the end.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tempfile::NamedTempFile;

use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::{default_sample, EventReader, Selection, DEFAULT_SAMPLE_EVENTS};
use stochad::jets::FourMomentum;

const COLUMNS: &str = "event,jet,px,py,pz,e,n_constituents";

/// Clusters every event of a file and writes the inclusive jets as CSV.
///
/// Reads the default CSV event format or HepMC3 ASCII, plain or gzip (detected from the
/// content). Every particle read is clustered unless a selection flag says otherwise.
#[derive(Parser, Debug)]
#[command(
    version,
    allow_negative_numbers = true,
    // As before clap: a flag given twice takes its last value (lists accumulate).
    args_override_self = true,
    after_help = "\
Output: CSV, the header line `event,jet,px,py,pz,e,n_constituents` then one row per jet:
  event           the event's number in the input
  jet             the jet's index in its event, from 0, by decreasing pt
  px,py,pz,e      the jet's four-momentum in GeV, printed with the shortest representation
                  that reads back to the same double
  n_constituents  the number of particles in the jet
Only jets with pt ≥ --ptmin are written. A summary line goes to standard error, and so does a
progress bar when standard error is a terminal. A file given to --output appears only when the
run succeeds (the jets go to a temporary file beside it, renamed into place at the end)."
)]
struct Args {
    /// Event file (CSV or HepMC3, plain or gzip); `-` reads standard input. Without it: the
    /// embedded default sample (1000 pp → ZH → ℓℓbb̄ events).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,

    /// Jet algorithm: antikt, kt or cambridge (also accepted: anti-kt, akt, ca,
    /// cambridge-aachen).
    #[arg(long, value_name = "NAME", default_value = "antikt")]
    algorithm: Algorithm,

    /// Jet radius R.
    #[arg(long, value_name = "R", default_value_t = 0.4)]
    radius: f64,

    /// Keep jets with transverse momentum pt ≥ GEV.
    #[arg(long, value_name = "GEV", default_value_t = 0.0, value_parser = non_negative)]
    ptmin: f64,

    /// Where to write the jets; `-` is standard output.
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    output: PathBuf,

    /// Leave out neutrinos and antineutrinos (|PDG id| 12, 14, 16).
    #[arg(long, help_heading = "Particle selection")]
    drop_neutrinos: bool,

    /// Leave out these species, by |PDG id| (particles and antiparticles alike), e.g. `11,13`.
    /// May be repeated.
    #[arg(
        long,
        value_name = "ID,..",
        value_delimiter = ',',
        allow_hyphen_values = true,
        help_heading = "Particle selection"
    )]
    drop_pids: Vec<i32>,

    /// Keep only particles with pseudorapidity |η| < ETA.
    #[arg(long, value_name = "ETA", help_heading = "Particle selection")]
    max_abs_eta: Option<f64>,

    /// Keep only particles with pt > GEV.
    #[arg(long, value_name = "GEV", help_heading = "Particle selection")]
    min_particle_pt: Option<f64>,

    /// HepMC3 input only: leave out the final-state descendants of particles with these (signed)
    /// PDG ids, e.g. `23` for the Z boson's leptons. May be repeated.
    #[arg(
        long,
        value_name = "ID,..",
        value_delimiter = ',',
        allow_hyphen_values = true,
        help_heading = "Particle selection"
    )]
    drop_descendants_of: Vec<i32>,
    // Room for the probabilistic Qanti-kT (`--alpha A --seed S`): flags here, and a branch in
    // `Clusterer`.
}

fn non_negative(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(format!("must be a finite number ≥ 0, got {x}"))
    }
}

fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

impl Args {
    fn selection(&self) -> Result<Selection, String> {
        let mut selection = Selection::all();
        if self.drop_neutrinos {
            selection = selection.drop_neutrinos();
        }
        if !self.drop_pids.is_empty() {
            selection = selection.drop_abs_pids(&self.drop_pids);
        }
        if let Some(eta) = self.max_abs_eta {
            selection = selection
                .max_abs_eta(eta)
                .map_err(|e| format!("--max-abs-eta: {e}"))?;
        }
        if let Some(pt) = self.min_particle_pt {
            selection = selection
                .min_pt(pt)
                .map_err(|e| format!("--min-particle-pt: {e}"))?;
        }
        Ok(selection)
    }
}

/// How an event's particles become jets. Today: the deterministic generalised-kT family.
struct Clusterer {
    def: JetDefinition,
    ptmin: f64,
}

impl Clusterer {
    /// The jets above `ptmin`, by decreasing pt: four-momentum and number of constituents.
    fn jets(&self, particles: &[FourMomentum]) -> stochad::Result<Vec<(FourMomentum, usize)>> {
        Ok(self
            .def
            .cluster(particles)?
            .inclusive_jets(self.ptmin)
            .iter()
            .map(|j| (j.momentum, j.constituents.len()))
            .collect())
    }
}

/// Opens the events, with a progress bar fed by the bytes read (a spinner for standard input).
fn open_events(args: &Args) -> Result<(EventReader, ProgressBar), String> {
    let bar = |template: &str| {
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> ")
    };
    let (reader, progress) = match &args.events {
        None => {
            let progress = ProgressBar::new(DEFAULT_SAMPLE_EVENTS as u64)
                .with_style(bar("{msg:>12} [{bar:40}] {pos}/{len} events, {elapsed}"));
            (default_sample().map_err(|e| e.to_string())?, progress)
        }
        Some(path) if is_dash(path) => {
            let progress = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} from standard input, {elapsed}")
                    .expect("valid template"),
            );
            let input = progress.wrap_read(io::stdin());
            let reader = EventReader::from_reader("<stdin>", input).map_err(|e| e.to_string())?;
            (reader, progress)
        }
        Some(path) => {
            let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let progress = ProgressBar::new(len).with_style(bar(
                "{msg:>12} [{bar:40}] {bytes}/{total_bytes}, {elapsed} (eta {eta})",
            ));
            let name = path.display().to_string();
            let reader = EventReader::from_reader(name, progress.wrap_read(file))
                .map_err(|e| e.to_string())?;
            (reader, progress)
        }
    };
    let reader = if args.drop_descendants_of.is_empty() {
        reader
    } else {
        reader
            .drop_descendants_of(&args.drop_descendants_of)
            .map_err(|e| e.to_string())?
    };
    Ok((reader, progress))
}

/// Where the jets go: standard output, or a temporary file beside the target that
/// [`Output::finish`] renames into place (dropping it unfinished deletes it).
enum Output {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File {
        tmp: BufWriter<NamedTempFile>,
        target: PathBuf,
    },
}

impl Output {
    fn create(target: &Path) -> Result<Output, String> {
        if is_dash(target) {
            return Ok(Output::Stdout(BufWriter::new(io::stdout().lock())));
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if target.is_dir() {
            return Err(format!("--output {} is a directory", target.display()));
        }
        if !dir.is_dir() {
            return Err(format!(
                "--output {}: directory {} does not exist",
                target.display(),
                dir.display()
            ));
        }
        let name = target
            .file_name()
            .ok_or_else(|| format!("--output {}: not a file name", target.display()))?;
        let prefix = format!(".{}.", name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A file as `File::create` would make it (0o666 less the umask), not the 0o600 of
        // temporary files.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|e| format!("--output {}: {e}", target.display()))?;
        Ok(Output::File {
            tmp: BufWriter::new(tmp),
            target: target.to_path_buf(),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { tmp, .. } => tmp,
        }
    }

    /// Flushes, and for a file renames the temporary file into place.
    fn finish(self) -> io::Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush(),
            Output::File { tmp, target } => {
                let tmp = tmp.into_inner().map_err(|e| e.into_error())?;
                tmp.as_file().sync_all()?;
                tmp.persist(&target).map(drop).map_err(|e| {
                    io::Error::new(e.error.kind(), format!("{}: {}", target.display(), e.error))
                })
            }
        }
    }
}

/// Refuses `--output` naming the `--events` file (after resolving links and `..`): the run
/// would replace the events with the jets.
fn check_not_same_file(args: &Args) -> Result<(), String> {
    let Some(events) = &args.events else {
        return Ok(());
    };
    if is_dash(events) || is_dash(&args.output) {
        return Ok(());
    }
    // An output that does not exist yet cannot be the input.
    if let (Ok(a), Ok(b)) = (events.canonicalize(), args.output.canonicalize()) {
        if a == b {
            return Err(format!(
                "--output {} is the --events file itself ({}): writing the jets would replace \
                 the events; choose another output file",
                args.output.display(),
                a.display()
            ));
        }
    }
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    check_not_same_file(&args)?;
    let selection = args.selection()?;
    let def = JetDefinition::new(args.algorithm, args.radius).map_err(|e| e.to_string())?;
    let clusterer = Clusterer {
        def,
        ptmin: args.ptmin,
    };
    let (reader, progress) = open_events(&args)?;
    let mut output = Output::create(&args.output)?;
    let write_err = |e: io::Error| {
        // A closed pipe (`| head`) is the reader saying it has enough, not a failure.
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        format!("writing the jets: {e}")
    };
    let out = output.writer();
    writeln!(out, "{COLUMNS}").map_err(write_err)?;
    let (mut n_events, mut n_jets) = (0usize, 0usize);
    progress.set_message("clustering");
    for event in reader {
        let event = selection.filter(event.map_err(|e| e.to_string())?);
        let particles: Vec<_> = event.particles.iter().map(|p| p.momentum).collect();
        let jets = clusterer
            .jets(&particles)
            .map_err(|e| format!("event {}: {e}", event.number))?;
        for (k, (p, n)) in jets.iter().enumerate() {
            writeln!(
                out,
                "{},{k},{},{},{},{},{n}",
                event.number, p.px, p.py, p.pz, p.e
            )
            .map_err(write_err)?;
        }
        n_events += 1;
        n_jets += jets.len();
        if args.events.is_none() {
            progress.inc(1);
        } else if n_events % 64 == 0 {
            progress.set_message(format!("{n_events} events"));
        }
    }
    progress.finish_and_clear();
    output.finish().map_err(write_err)?;
    eprintln!(
        "{}: {n_events} events, {n_jets} jets with pt ≥ {} GeV",
        clusterer.def, args.ptmin
    );
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Args::command().debug_assert();
        let args =
            Args::try_parse_from(["cluster", "--radius=0.8", "--drop-descendants-of", "-5,5"])
                .unwrap();
        assert_eq!(args.radius, 0.8);
        assert_eq!(args.drop_descendants_of, [-5, 5]);
        assert!(is_dash(&args.output));
        assert!(Args::try_parse_from(["cluster", "--ptmin", "-1"]).is_err());
        let args = Args::try_parse_from([
            "cluster",
            "--drop-pids=11",
            "--drop-pids",
            "13,15",
            "--radius",
            "1",
            "--radius",
            "0.6",
            "--drop-neutrinos",
            "--drop-neutrinos",
        ])
        .unwrap();
        assert_eq!(args.drop_pids, [11, 13, 15]);
        assert_eq!(args.radius, 0.6);
    }

    #[test]
    fn output_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("jets.csv");
        let mut out = Output::create(&target).unwrap();
        writeln!(out.writer(), "{COLUMNS}").unwrap();
        drop(out); // a failed run
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut out = Output::create(&target).unwrap();
        writeln!(out.writer(), "{COLUMNS}").unwrap();
        assert!(!target.exists());
        out.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            format!("{COLUMNS}\n")
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn output_may_not_be_the_events_file() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.csv");
        std::fs::write(&events, "").unwrap();
        let same = dir.path().join(".").join("events.csv");
        let args = Args::try_parse_from([
            "cluster".as_ref(),
            "--events".as_ref(),
            events.as_os_str(),
            "--output".as_ref(),
            same.as_os_str(),
        ])
        .unwrap();
        assert!(check_not_same_file(&args)
            .unwrap_err()
            .contains("--events file itself"));
        let other = dir.path().join("jets.csv");
        let args = Args::try_parse_from([
            "cluster".as_ref(),
            "--events".as_ref(),
            events.as_os_str(),
            "-o".as_ref(),
            other.as_os_str(),
        ])
        .unwrap();
        assert!(check_not_same_file(&args).is_ok());
    }
}
