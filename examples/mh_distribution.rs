//! The reconstructed Higgs mass (m_jj of the two leading anti-kT jets) on the default sample for
//! R = 0.4 … 1.2: why the jet radius matters. Writes an SVG histogram and prints, per R, the
//! number of events with two jets, mean ± std in [50, 200] GeV and the core (iteratively
//! 2σ-clipped) mean and width.
//!
//! ```text
//! cargo run --release --example mh_distribution -- [--output mh_distribution.svg] [--ptmin 20]
//! ```

use std::fmt::Write as _;
use std::process::ExitCode;

use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::default_sample;
use stochad::jets::observables::{reconstruct_mh, DijetSelection};
use stochad::jets::FourMomentum;

const RADII: [f64; 5] = [0.4, 0.6, 0.8, 1.0, 1.2];
const COLOURS: [&str; 5] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"];
/// Histogram range and bin width (GeV).
const M_LO: f64 = 0.0;
const M_HI: f64 = 250.0;
const BIN: f64 = 5.0;

/// Mean and standard deviation (n − 1) of `xs`.
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Core of the distribution: mean and std of the values within 2σ of the mean, iterated until
/// the kept set no longer changes.
fn core(xs: &[f64]) -> (f64, f64) {
    let (mut mean, mut std) = mean_std(xs);
    let mut kept = xs.len();
    for _ in 0..100 {
        let inner: Vec<f64> = xs
            .iter()
            .copied()
            .filter(|x| (x - mean).abs() < 2.0 * std)
            .collect();
        (mean, std) = mean_std(&inner);
        if inner.len() == kept {
            break;
        }
        kept = inner.len();
    }
    (mean, std)
}

fn histogram(xs: &[f64]) -> Vec<f64> {
    let nbins = ((M_HI - M_LO) / BIN) as usize;
    let mut h = vec![0.0; nbins];
    for &x in xs {
        if (M_LO..M_HI).contains(&x) {
            h[((x - M_LO) / BIN) as usize] += 1.0;
        }
    }
    h
}

/// A step-line histogram per radius, axes with ticks, a marker at 125 GeV and a legend.
fn svg(hists: &[(f64, Vec<f64>, (f64, f64))]) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 480.0, 70.0, 20.0, 30.0, 55.0);
    let ymax = hists
        .iter()
        .flat_map(|(_, hh, _)| hh.iter().copied())
        .fold(0.0, f64::max);
    let ymax = (ymax / 20.0).ceil() * 20.0;
    let px = |m: f64| left + (m - M_LO) / (M_HI - M_LO) * (w - left - right);
    let py = |c: f64| h - bottom - c / ymax * (h - top - bottom);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="15">Reconstructed m_H (two leading anti-kT jets), default sample, 1000 ZH → ℓℓbb̄ events</text>"#,
        w / 2.0
    );
    // Axes and ticks.
    let _ = writeln!(
        s,
        r#"<path d="M{left},{top} V{} H{}" stroke="black" fill="none"/>"#,
        h - bottom,
        w - right
    );
    let mut m = M_LO;
    while m <= M_HI {
        let x = px(m);
        let _ = writeln!(
            s,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="black"/><text x="{x}" y="{}" text-anchor="middle">{m}</text>"#,
            h - bottom,
            h - bottom + 5.0,
            h - bottom + 20.0
        );
        m += 25.0;
    }
    let step = if ymax > 100.0 { 40.0 } else { 20.0 };
    let mut c = 0.0;
    while c <= ymax {
        let y = py(c);
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{y}" x2="{left}" y2="{y}" stroke="black"/><text x="{}" y="{}" text-anchor="end">{c}</text>"#,
            left - 5.0,
            left - 8.0,
            y + 4.0
        );
        c += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">m_jj [GeV]</text>"#,
        (left + w - right) / 2.0,
        h - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18,{}) rotate(-90)" text-anchor="middle">events / {BIN} GeV</text>"#,
        (top + h - bottom) / 2.0
    );
    let _ = writeln!(
        s,
        r#"<line x1="{0}" y1="{top}" x2="{0}" y2="{1}" stroke="grey" stroke-dasharray="5,4"/>"#,
        px(125.0),
        h - bottom
    );
    for (k, (r, hist, (mu, sigma))) in hists.iter().enumerate() {
        let mut d = format!("M{},{}", px(M_LO), py(0.0));
        for (i, &count) in hist.iter().enumerate() {
            let x0 = M_LO + i as f64 * BIN;
            let _ = write!(d, " V{:.1} H{:.1}", py(count), px(x0 + BIN));
        }
        let _ = write!(d, " V{}", py(0.0));
        let _ = writeln!(
            s,
            r#"<path d="{d}" stroke="{}" stroke-width="1.8" fill="none"/>"#,
            COLOURS[k]
        );
        let y = top + 20.0 + 20.0 * k as f64;
        let x = w - right - 290.0;
        let _ = writeln!(
            s,
            r#"<line x1="{x}" y1="{0}" x2="{1}" y2="{0}" stroke="{2}" stroke-width="3"/><text x="{3}" y="{4}">R = {r:.1}: core μ = {mu:.1}, σ = {sigma:.1} GeV</text>"#,
            y,
            x + 22.0,
            COLOURS[k],
            x + 28.0,
            y + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn run() -> Result<(), String> {
    let mut output = "mh_distribution.svg".to_string();
    let mut ptmin = 20.0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--output" => output = value,
            "--ptmin" => {
                ptmin = value
                    .parse()
                    .map_err(|_| format!("--ptmin: `{value}` is not a number"))?
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (use --output FILE, --ptmin GEV)"
                ))
            }
        }
    }
    let selection = DijetSelection::new(ptmin, f64::INFINITY).map_err(|e| e.to_string())?;
    let events: Vec<Vec<FourMomentum>> = default_sample()
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.particles.iter().map(|p| p.momentum).collect()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    println!(
        "anti-kT, two leading jets with pt ≥ {ptmin} GeV, {} events",
        events.len()
    );
    println!("   R  events  mean±std in [50,200]  core μ  core σ (2σ-clipped, GeV)");
    let mut hists = Vec::new();
    for r in RADII {
        let def = JetDefinition::new(Algorithm::AntiKt, r).map_err(|e| e.to_string())?;
        let mut masses = Vec::new();
        for ev in &events {
            if let Some(m) = reconstruct_mh(ev, &def, &selection)
                .map_err(|e| e.to_string())?
                .mass()
            {
                masses.push(m);
            }
        }
        let window: Vec<f64> = masses
            .iter()
            .copied()
            .filter(|m| (50.0..=200.0).contains(m))
            .collect();
        let (mean, std) = mean_std(&window);
        let (mu, sigma) = core(&masses);
        println!(
            "{r:4.1}  {:6}  {mean:7.1} ± {std:5.1}        {mu:6.1}  {sigma:6.1}",
            masses.len()
        );
        hists.push((r, histogram(&masses), (mu, sigma)));
    }
    std::fs::write(&output, svg(&hists)).map_err(|e| format!("{output}: {e}"))?;
    println!("wrote {output}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mh_distribution: {e}");
            ExitCode::FAILURE
        }
    }
}
