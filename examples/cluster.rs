//! Clusters every event of a file and writes the inclusive jets as CSV.
//!
//! ```text
//! cargo run --release --example cluster -- [--events FILE] [--algorithm antikt|kt|cambridge]
//!     [--radius R] [--ptmin GEV] [--output FILE]
//!     [--drop-neutrinos] [--drop-pids ID,ID,..] [--max-abs-eta ETA] [--min-particle-pt GEV]
//!     [--drop-descendants-of ID,ID,..]
//! ```
//! Without `--events` it reads the embedded default sample. Every particle read is clustered
//! unless a selection flag says otherwise: `--drop-neutrinos`, `--drop-pids` (by |PDG id|),
//! `--max-abs-eta`, `--min-particle-pt`, and for HepMC3 input `--drop-descendants-of` (e.g. `23`
//! to leave out the Z boson's leptons). Output (stdout without `--output`):
//! `event,jet,px,py,pz,e,n_constituents`, the jets of an event by decreasing pt numbered from 0,
//! numbers printed with the shortest representation that reads back to the same double.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::{default_sample, EventReader, Selection};

const USAGE: &str =
    "usage: cluster [--events FILE] [--algorithm antikt|kt|cambridge] [--radius R] \
                     [--ptmin GEV] [--output FILE] [--drop-neutrinos] [--drop-pids ID,..] \
                     [--max-abs-eta ETA] [--min-particle-pt GEV] [--drop-descendants-of ID,..]";

struct Args {
    events: Option<String>,
    algorithm: Algorithm,
    radius: f64,
    ptmin: f64,
    output: Option<String>,
    selection: Selection,
    drop_descendants_of: Vec<i32>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        events: None,
        algorithm: Algorithm::AntiKt,
        radius: 0.4,
        ptmin: 0.0,
        output: None,
        selection: Selection::all(),
        drop_descendants_of: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--events" => args.events = Some(value()?),
            "--algorithm" => {
                args.algorithm = value()?.parse().map_err(|e| format!("--algorithm: {e}"))?
            }
            "--radius" => args.radius = number(&flag, &value()?)?,
            "--ptmin" => {
                args.ptmin = number(&flag, &value()?)?;
                if !(args.ptmin >= 0.0 && args.ptmin.is_finite()) {
                    return Err(format!(
                        "--ptmin must be a finite number ≥ 0, got {}",
                        args.ptmin
                    ));
                }
            }
            "--output" => args.output = Some(value()?),
            "--drop-neutrinos" => args.selection = args.selection.drop_neutrinos(),
            "--drop-pids" => {
                args.selection = args.selection.drop_abs_pids(&pids(&flag, &value()?)?)
            }
            "--max-abs-eta" => {
                let eta = number(&flag, &value()?)?;
                args.selection = args
                    .selection
                    .max_abs_eta(eta)
                    .map_err(|e| format!("{flag}: {e}"))?
            }
            "--min-particle-pt" => {
                let pt = number(&flag, &value()?)?;
                args.selection = args
                    .selection
                    .min_pt(pt)
                    .map_err(|e| format!("{flag}: {e}"))?
            }
            "--drop-descendants-of" => args.drop_descendants_of = pids(&flag, &value()?)?,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(args))
}

fn pids(flag: &str, s: &str) -> Result<Vec<i32>, String> {
    s.split(',')
        .map(|p| {
            p.trim()
                .parse()
                .map_err(|_| format!("{flag}: `{p}` is not a PDG id"))
        })
        .collect()
}

fn number(flag: &str, s: &str) -> Result<f64, String> {
    s.parse()
        .map_err(|_| format!("{flag}: `{s}` is not a number"))
}

fn run(args: Args) -> Result<(), String> {
    let def = JetDefinition::new(args.algorithm, args.radius).map_err(|e| e.to_string())?;
    let reader = match &args.events {
        Some(path) => EventReader::open(path),
        None => default_sample(),
    }
    .map_err(|e| e.to_string())?;
    let reader = if args.drop_descendants_of.is_empty() {
        reader
    } else {
        reader
            .drop_descendants_of(&args.drop_descendants_of)
            .map_err(|e| e.to_string())?
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path).map_err(|e| format!("{path}: {e}"))?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let write_err = |e: io::Error| {
        // A closed pipe (`| head`) is the reader saying it has enough, not a failure.
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        format!("writing the jets: {e}")
    };
    writeln!(out, "event,jet,px,py,pz,e,n_constituents").map_err(write_err)?;
    let (mut n_events, mut n_jets) = (0usize, 0usize);
    for event in reader {
        let event = args.selection.filter(event.map_err(|e| e.to_string())?);
        let particles: Vec<_> = event.particles.iter().map(|p| p.momentum).collect();
        let jets = def
            .cluster(&particles)
            .map_err(|e| format!("event {}: {e}", event.number))?
            .inclusive_jets(args.ptmin);
        for (k, j) in jets.iter().enumerate() {
            let p = j.momentum;
            writeln!(
                out,
                "{},{k},{},{},{},{},{}",
                event.number,
                p.px,
                p.py,
                p.pz,
                p.e,
                j.constituents.len()
            )
            .map_err(write_err)?;
        }
        n_events += 1;
        n_jets += jets.len();
    }
    out.flush().map_err(write_err)?;
    eprintln!(
        "{def}: {n_events} events, {n_jets} jets with pt ≥ {} GeV",
        args.ptmin
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cluster: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("cluster: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
