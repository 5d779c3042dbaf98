//! Times anti-kT clustering per event, strategy by strategy: the counterpart of
//! tools/fastjet_timing.cpp for quick comparisons and for measuring where `Best` should switch
//! strategies (criterion's `cargo bench --bench antikt_pileup` is the careful measurement).
//!
//! ```text
//! cargo run --release --example cluster_timing -- [--passes 5] [--radius 0.4 --radius 1.0]
//!     [--strategy best --strategy lazy9 ...] [--max-n N] FILE...
//! ```
//! For each file (default: the embedded sample), radius and strategy it runs, on every event,
//! the same work as the FastJet harness — cluster, inclusive jets above 5 GeV sorted by pt, each
//! jet's constituents — and prints the best time over the passes, per event. `--max-n N` keeps
//! only the first N particles of each event (a quick way to scan event sizes), `--max-events N`
//! the first N events of each file.
//!
//! ```text
//! cargo run --release --example cluster_timing -- --alpha 1 --radius 0.4 --gradient-samples 3
//!     --max-events 1 tests/data/zh_pileup_mu50_particles.csv.gz
//! ```
//! With `--alpha A` it times Qanti-kT at sharpness A instead, event by event (for large events,
//! where a run takes seconds): one `f64` history of mH (`qanti_kt_mh`, seed 1, sample 0) and
//! `--gradient-samples K` pruned-triple gradient samples of dE[mH]/dR and dE[mH]/dα (seed 1,
//! samples 0 to K − 1), each timed once, with their values.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use stochad::jets::cluster::{Algorithm, JetDefinition, Strategy};
use stochad::jets::io::{default_sample, EventReader};
use stochad::jets::qantikt::qanti_kt_mh;
use stochad::jets::FourMomentum;

/// Times anti-kT clustering per event, strategy by strategy.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Passes over the events; the best is reported.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// Jet radii (repeatable).
    #[arg(long = "radius", default_values_t = [0.4, 1.0])]
    radii: Vec<f64>,
    /// Strategies (repeatable): best, plain, tiled, minheap, lazy9.
    #[arg(long = "strategy", default_values_t = ["best".to_string()])]
    strategies: Vec<String>,
    /// Keep only the first N particles of each event.
    #[arg(long)]
    max_n: Option<usize>,
    /// Keep only the first N events of each file.
    #[arg(long)]
    max_events: Option<usize>,
    /// Time Qanti-kT at this sharpness α instead of anti-kT (one history and
    /// --gradient-samples pruned-triple gradient samples per event, at each radius).
    #[arg(long)]
    alpha: Option<f64>,
    /// With --alpha: pruned-triple gradient samples per event.
    #[arg(long, default_value_t = 3)]
    gradient_samples: u64,
    /// Event files (default: the embedded sample).
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster_timing: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> stochad::Result<()> {
    let strategies = args
        .strategies
        .iter()
        .map(|s| s.parse::<Strategy>())
        .collect::<stochad::Result<Vec<_>>>()?;
    let files: Vec<Option<PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files.iter().cloned().map(Some).collect()
    };
    match args.alpha {
        Some(_) => println!("file,event,n,radius,alpha,run,seconds,mh,dmh_dr,dmh_dalpha"),
        None => println!("file,n_mean,radius,strategy,us_per_event"),
    }
    for file in files {
        let reader = match &file {
            Some(path) => EventReader::open(path)?,
            None => default_sample()?,
        };
        let mut events: Vec<Vec<FourMomentum>> = Vec::new();
        for e in reader.take(args.max_events.unwrap_or(usize::MAX)) {
            let mut ps: Vec<FourMomentum> = e?.particles.iter().map(|p| p.momentum).collect();
            if let Some(n) = args.max_n {
                ps.truncate(n);
            }
            events.push(ps);
        }
        let n_mean = events.iter().map(Vec::len).sum::<usize>() as f64 / events.len().max(1) as f64;
        let name = file
            .as_ref()
            .map_or("default".into(), |p| p.display().to_string());
        if let Some(alpha) = args.alpha {
            for &r in &args.radii {
                for (i, ev) in events.iter().enumerate() {
                    time_qantikt(&name, i, ev, r, alpha, args.gradient_samples)?;
                }
            }
            continue;
        }
        for &r in &args.radii {
            for &strategy in &strategies {
                let def = JetDefinition::new(Algorithm::AntiKt, r)?.with_strategy(strategy);
                let mut best = f64::INFINITY;
                for _ in 0..args.passes.max(1) {
                    let t0 = Instant::now();
                    let mut n = 0usize;
                    for ev in &events {
                        let jets = def.cluster(black_box(ev))?.inclusive_jets(5.0);
                        n += jets.iter().map(|j| j.constituents.len()).sum::<usize>();
                    }
                    black_box(n);
                    best = best.min(t0.elapsed().as_secs_f64());
                }
                let us = best / events.len().max(1) as f64 * 1e6;
                println!("{name},{n_mean:.1},{r},{},{us:.1}", strategy.name());
            }
        }
    }
    Ok(())
}

/// One `f64` history of mH and `samples` pruned-triple gradient samples of event `ev`, each
/// timed once: a CSV row each.
fn time_qantikt(
    name: &str,
    i: usize,
    ev: &[FourMomentum],
    r: f64,
    alpha: f64,
    samples: u64,
) -> stochad::Result<()> {
    // (The primal's derivative columns are empty.)
    let row = |run: &str, t0: Instant, mh: f64, d: Option<[f64; 2]>| {
        let s = t0.elapsed().as_secs_f64();
        let n = ev.len();
        let d = d.map_or(",".to_string(), |[dr, da]| format!("{dr},{da}"));
        println!("{name},{i},{n},{r},{alpha},{run},{s:.6},{mh},{d}");
    };
    let t0 = Instant::now();
    let mh: f64 = stochad::with_run(1, 0, || qanti_kt_mh(black_box(ev), r, alpha))?;
    row("primal", t0, mh, None);
    let g = stochad::gradient(|[r, a]| qanti_kt_mh(ev, r, a))
        .at([r, alpha])
        .seed(1);
    for k in 0..samples {
        let t0 = Instant::now();
        let out = g.run(k)?;
        row(&format!("triple {k}"), t0, out.value, Some(out.derivative));
    }
    Ok(())
}
