//! Clusters every event of a file and writes the inclusive jets as CSV.
//!
//! ```text
//! cargo run --release --example cluster -- [--events FILE] [--algorithm antikt|kt|cambridge]
//!     [--radius R] [--ptmin GEV] [--output FILE]
//! ```
//! Without `--events` it reads the embedded default sample. Output (stdout without `--output`):
//! `event,jet,px,py,pz,e,n_constituents`, the jets of an event by decreasing pt numbered from 0,
//! numbers printed with the shortest representation that reads back to the same double.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::{default_sample, EventReader};

const USAGE: &str =
    "usage: cluster [--events FILE] [--algorithm antikt|kt|cambridge] [--radius R] \
                     [--ptmin GEV] [--output FILE]";

struct Args {
    events: Option<String>,
    algorithm: Algorithm,
    radius: f64,
    ptmin: f64,
    output: Option<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        events: None,
        algorithm: Algorithm::AntiKt,
        radius: 0.4,
        ptmin: 0.0,
        output: None,
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
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(args))
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
        let event = event.map_err(|e| e.to_string())?;
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
