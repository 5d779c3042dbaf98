//! Tiled nearest-neighbour clustering (the idea of FastJet's `N2Tiled`): the rapidity–azimuth
//! plane is cut into tiles at least R wide, so a neighbour within R lies in one of the 3 × 3
//! tiles around an object, and each update looks only there.
//!
//! The decisions are those of [`plain`](super::plain) — the smallest d_iJ each step, neighbours
//! strictly within R — so the clustering is the same except on exact ties of distances (which
//! real events do not have). Objects keep their slot (the merged object takes the lower slot of
//! its parents); the candidates for the smallest d_iJ are kept in a dense array for a fast scan.

use std::f64::consts::TAU;

use super::nn::{Brief, Geometry, Recorder, NONE};

/// Tiles are at least this wide (as FastJet: tiny tiles cost more than they save).
const MIN_TILE: f64 = 0.1;
/// At most this many tiles along each axis.
const MAX_TILES_PER_AXIS: usize = 64;

/// The tiling: `ny` rapidity rows of width `wy` from `ymin` (the outer rows extend to ±∞),
/// `nphi` azimuth columns of width `wphi` (cyclic; 1 column when fewer than 3 would fit).
#[derive(Clone, Copy, Debug)]
struct Grid {
    ymin: f64,
    wy: f64,
    ny: usize,
    wphi: f64,
    nphi: usize,
}

impl Grid {
    fn new(objects: &[Geometry], r: f64) -> Self {
        // A margin keeps rounding in the tile index from separating points closer than R.
        let size = r.max(MIN_TILE) * (1.0 + 1e-6);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for g in objects {
            // Particles along the beam (|y| ≈ 1e5) go to the outer rows.
            let y = g.rap.clamp(-20.0, 20.0);
            lo = lo.min(y);
            hi = hi.max(y);
        }
        if lo > hi {
            (lo, hi) = (0.0, 0.0);
        }
        let ny = ((hi - lo) / size)
            .floor()
            .clamp(1.0, MAX_TILES_PER_AXIS as f64) as usize;
        let wy = ((hi - lo) / ny as f64).max(size);
        let mut nphi = ((TAU / size).floor() as usize).min(MAX_TILES_PER_AXIS);
        if nphi < 3 {
            nphi = 1;
        }
        Grid {
            ymin: lo,
            wy,
            ny,
            wphi: TAU / nphi as f64,
            nphi,
        }
    }

    fn n_tiles(&self) -> usize {
        self.ny * self.nphi
    }

    #[inline]
    fn tile(&self, b: &Brief) -> u32 {
        // `as usize` truncates (= floor for the non-negative values left by `max`) and
        // saturates; cheaper than `floor`, which is a libm call on baseline x86-64.
        let iy = (((b.rap - self.ymin) / self.wy).max(0.0) as usize).min(self.ny - 1);
        let ip = ((b.phi / self.wphi) as usize).min(self.nphi - 1);
        (iy * self.nphi + ip) as u32
    }

    /// The tiles within one row and one (cyclic) column of `t`, `t` itself included; distinct.
    #[inline]
    fn neighbours(&self, t: u32) -> ([u32; 9], usize) {
        let (iy, ip) = (t as usize / self.nphi, t as usize % self.nphi);
        let mut out = [0u32; 9];
        let mut n = 0;
        let cols: [usize; 3] = [(ip + self.nphi - 1) % self.nphi, ip, (ip + 1) % self.nphi];
        let cols = if self.nphi == 1 {
            &cols[1..2]
        } else {
            &cols[..]
        };
        for y in iy.saturating_sub(1)..=(iy + 1).min(self.ny - 1) {
            for &c in cols {
                out[n] = (y * self.nphi + c) as u32;
                n += 1;
            }
        }
        (out, n)
    }
}

/// An object and its links in its tile's list, in one record so a scan touches one cache line.
#[derive(Clone, Copy, Debug)]
struct Node {
    b: Brief,
    next: u32,
    prev: u32,
    tile: u32,
}

/// The search state: objects by slot, intrusive doubly linked lists of the slots in each tile,
/// and the dense array of candidate distances.
struct Tiled {
    grid: Grid,
    r2: f64,
    nodes: Vec<Node>,
    head: Vec<u32>,
    /// Active slots, and their d_iJ·R² at the same position (scanned for the minimum).
    active: Vec<u32>,
    dist: Vec<f64>,
    /// Position of each slot in `active`.
    pos: Vec<u32>,
    /// Per-tile marks for visiting each tile once per step.
    stamp: Vec<u32>,
    step: u32,
}

impl Tiled {
    fn insert(&mut self, s: usize) {
        let t = self.grid.tile(&self.nodes[s].b);
        let h = self.head[t as usize];
        let node = &mut self.nodes[s];
        node.tile = t;
        node.next = h;
        node.prev = NONE;
        if h != NONE {
            self.nodes[h as usize].prev = s as u32;
        }
        self.head[t as usize] = s as u32;
    }

    fn unlink(&mut self, s: usize) {
        let Node {
            prev: p,
            next: n,
            tile,
            ..
        } = self.nodes[s];
        if p == NONE {
            self.head[tile as usize] = n;
        } else {
            self.nodes[p as usize].next = n;
        }
        if n != NONE {
            self.nodes[n as usize].prev = p;
        }
    }

    fn deactivate(&mut self, s: usize) {
        self.unlink(s);
        let k = self.pos[s] as usize;
        self.active.swap_remove(k);
        self.dist.swap_remove(k);
        if k < self.active.len() {
            self.pos[self.active[k] as usize] = k as u32;
        }
    }

    /// Nearest neighbour of slot `s` among the objects in the tiles around it.
    fn set_nn(&mut self, s: usize) {
        let me = self.nodes[s].b;
        let (mut best, mut nn) = (self.r2, NONE);
        let (tiles, n) = self.grid.neighbours(self.nodes[s].tile);
        for &t in &tiles[..n] {
            let mut k = self.head[t as usize];
            while k != NONE {
                let node = &self.nodes[k as usize];
                let d = me.dist(&node.b);
                if d < best && k as usize != s {
                    best = d;
                    nn = k;
                }
                k = node.next;
            }
        }
        self.nodes[s].b.nn = nn;
        self.nodes[s].b.nn_dist = best;
    }

    /// Initial neighbours of all objects: each pair of objects in neighbouring tiles is looked
    /// at once, updating both (each tile against itself and half of its neighbours).
    fn set_all_nn(&mut self) {
        let g = self.grid;
        // (row, column) offsets to the tiles after this one; with one column only the next row.
        let offsets = [(0, 1), (1, g.nphi - 1), (1, 0), (1, 1)];
        let half = if g.nphi == 1 {
            &offsets[2..3]
        } else {
            &offsets[..]
        };
        for t in 0..g.n_tiles() {
            let (iy, ip) = (t / g.nphi, t % g.nphi);
            let mut a = self.head[t];
            while a != NONE {
                let mut b = self.nodes[a as usize].next;
                while b != NONE {
                    self.cross(a, b);
                    b = self.nodes[b as usize].next;
                }
                for &(dy, dp) in half {
                    if iy + dy >= g.ny {
                        continue;
                    }
                    let u = (iy + dy) * g.nphi + (ip + dp) % g.nphi;
                    let mut b = self.head[u];
                    while b != NONE {
                        self.cross(a, b);
                        b = self.nodes[b as usize].next;
                    }
                }
                a = self.nodes[a as usize].next;
            }
        }
    }

    #[inline]
    fn cross(&mut self, a: u32, b: u32) {
        let d = self.nodes[a as usize].b.dist(&self.nodes[b as usize].b);
        for (x, y) in [(a, b), (b, a)] {
            let n = &mut self.nodes[x as usize].b;
            if d < n.nn_dist {
                n.nn_dist = d;
                n.nn = y;
            }
        }
    }

    /// d_iJ·R² of slot `s` (FastJet's `_bj_diJ`).
    fn refresh(&mut self, s: usize) {
        let j = &self.nodes[s].b;
        let mut scale = j.scale;
        if j.nn != NONE {
            scale = scale.min(self.nodes[j.nn as usize].b.scale);
        }
        self.dist[self.pos[s] as usize] = j.nn_dist * scale;
    }

    /// After slots `a` and `b` merged into `keep` (one of them; the other is gone): updates the
    /// neighbours of every object whose neighbour was `a` or `b` or is now `keep`. The latter lie
    /// in the tiles around the new position of `keep` (visited first, measuring the distance to
    /// it), the former around the old positions of `a` and `b`.
    fn update_after_merge(&mut self, a: usize, b: usize, keep: usize, old_tiles: [u32; 2]) {
        self.step += 1;
        let centres = [self.nodes[keep].tile, old_tiles[0], old_tiles[1]];
        for (pass, c) in centres.into_iter().enumerate() {
            let near_keep = pass == 0;
            let (tiles, n) = self.grid.neighbours(c);
            for &t in &tiles[..n] {
                if self.stamp[t as usize] == self.step {
                    continue;
                }
                self.stamp[t as usize] = self.step;
                let mut k = self.head[t as usize];
                while k != NONE {
                    let i = k as usize;
                    k = self.nodes[i].next;
                    if i == keep {
                        continue;
                    }
                    let mut changed = false;
                    let nn = self.nodes[i].b.nn as usize;
                    if nn == a || nn == b {
                        self.set_nn(i);
                        changed = true;
                    }
                    if near_keep {
                        let d = self.nodes[i].b.dist(&self.nodes[keep].b);
                        let bi = &mut self.nodes[i].b;
                        if d < bi.nn_dist {
                            bi.nn_dist = d;
                            bi.nn = keep as u32;
                            changed = true;
                        }
                        let bk = &mut self.nodes[keep].b;
                        if d < bk.nn_dist {
                            bk.nn_dist = d;
                            bk.nn = i as u32;
                        }
                    }
                    if changed {
                        self.refresh(i);
                    }
                }
            }
        }
        self.refresh(keep);
    }
}

/// Clusters the objects with the given geometries (their recorder indices are 0..n) with
/// search radius `r`.
pub(super) fn cluster<R: Recorder>(initial: &[Geometry], r: f64, rec: &mut R) {
    let n = initial.len();
    let r2 = r * r;
    let inv_r2 = 1.0 / r2;
    let grid = Grid::new(initial, r);
    let n_tiles = grid.n_tiles();
    let mut st = Tiled {
        grid,
        r2,
        nodes: initial
            .iter()
            .enumerate()
            .map(|(i, &g)| Node {
                b: Brief::new(g, i, r2),
                next: NONE,
                prev: NONE,
                tile: 0,
            })
            .collect(),
        head: vec![NONE; n_tiles],
        active: (0..n as u32).collect(),
        dist: vec![0.0; n],
        pos: (0..n as u32).collect(),
        stamp: vec![0; n_tiles],
        step: 0,
    };
    for s in 0..n {
        st.insert(s);
    }
    st.set_all_nn();
    for s in 0..n {
        st.refresh(s);
    }

    while !st.active.is_empty() {
        let mut k = 0;
        let mut dmin = st.dist[0];
        for (i, &d) in st.dist.iter().enumerate().skip(1) {
            if d < dmin {
                k = i;
                dmin = d;
            }
        }
        let a = st.active[k] as usize;
        let d_step = dmin * inv_r2;
        let nn = st.nodes[a].b.nn;
        if nn == NONE {
            // No object has `a` as neighbour (it has none within R), so nothing else changes.
            rec.beam(st.nodes[a].b.index as usize, d_step);
            st.deactivate(a);
            continue;
        }
        let b = nn as usize;
        let (keep, gone) = if a < b { (a, b) } else { (b, a) };
        let (new, g) = rec.merge(
            st.nodes[gone].b.index as usize,
            st.nodes[keep].b.index as usize,
            d_step,
        );
        let old_tiles = [st.nodes[a].tile, st.nodes[b].tile];
        st.deactivate(gone);
        st.unlink(keep);
        st.nodes[keep].b = Brief::new(g, new, r2);
        st.insert(keep);
        st.update_after_merge(a, b, keep, old_tiles);
    }
}
