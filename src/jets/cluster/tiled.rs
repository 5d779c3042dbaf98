//! Tiled nearest-neighbour clustering (the idea of FastJet's `N2Tiled` and its lazy variants):
//! the rapidity–azimuth plane is cut into tiles at least R / [`REACH`] wide, so a neighbour
//! within R lies within `REACH` rows and columns of an object's tile, and each search or update
//! looks only there, skipping tiles whose nearest edge is already too far.
//!
//! The decisions are those of [`plain`](super::plain) — the smallest d_iJ each step, neighbours
//! strictly within R — so the clustering is the same except on exact ties of distances (which
//! real events do not have). Objects keep their slot (the merged object takes the lower slot of
//! its parents); the candidates for the smallest d_iJ are kept in a dense array for a fast scan.

use std::f64::consts::TAU;

use super::nn::{argmin, Brief, Geometry, Recorder, NONE};

/// Tiles are at least this wide (as FastJet: tiny tiles cost more than they save).
const MIN_TILE: f64 = 0.1;
/// At most this many tiles along each axis.
const MAX_TILES_PER_AXIS: usize = 64;
/// Tiles are R / REACH wide, so neighbours within R lie within REACH rows and columns. Finer
/// tiles (REACH = 2) fit the circle ΔR < R more closely but cost more than they save: on the
/// default sample REACH = 2 took ~40% longer than REACH = 1 at R = 0.4 and 1.0.
pub(super) const REACH: usize = 1;
/// Most tiles around a tile: (2 REACH + 1)².
const NEAR: usize = (2 * REACH + 1) * (2 * REACH + 1);
/// Absolute slack (in ΔR²) on the bound from a point to a tile, far above rounding in the
/// bounds and tile indices (~1e-14), so no tile that may hold a closer point is skipped.
const SLACK: f64 = 1e-12;

/// The tiling: `ny` rapidity rows of width `wy` from `ymin` (the outer rows extend to ±∞),
/// `nphi` azimuth columns of width `wphi` (cyclic; 1 column when fewer than 2 REACH + 1 fit).
#[derive(Clone, Copy, Debug)]
struct Grid {
    ymin: f64,
    wy: f64,
    ny: usize,
    wphi: f64,
    nphi: usize,
}

/// A tile: its index (row-major) and its row and column, kept so that no division is needed
/// to find the tiles around it.
#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    tile: u32,
    row: u16,
    col: u16,
}

/// The tiles around a point, each with a lower bound on ΔR² from the point to any object in it;
/// the point's own tile first.
struct Near {
    tiles: [u32; NEAR],
    bound: [f64; NEAR],
    n: usize,
}

impl Grid {
    fn new(objects: &[Geometry], r: f64) -> Self {
        // A margin keeps rounding in the tile index from separating points closer than R.
        let size = (r / REACH as f64).max(MIN_TILE) * (1.0 + 1e-6);
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
        if nphi < 2 * REACH + 1 {
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
    fn cell(&self, rap: f64, phi: f64) -> Cell {
        // `as usize` truncates (= floor for the non-negative values left by `max`) and
        // saturates; cheaper than `floor`, which is a libm call on baseline x86-64.
        let row = (((rap - self.ymin) / self.wy).max(0.0) as usize).min(self.ny - 1);
        let col = ((phi / self.wphi) as usize).min(self.nphi - 1);
        Cell {
            tile: (row * self.nphi + col) as u32,
            row: row as u16,
            col: col as u16,
        }
    }

    /// The tiles within REACH rows and (cyclic) columns of `cell`, which holds the point
    /// (`rap`, `phi`); distinct. With `half`, only those after it (later row, or same row and
    /// later column), so that each pair of tiles comes up once.
    #[inline]
    fn near(&self, cell: Cell, rap: f64, phi: f64, half: bool) -> Near {
        let k = REACH as isize;
        let (iy, ip) = (cell.row as isize, cell.col as isize);
        let nphi = self.nphi as isize;
        let mut near = Near {
            tiles: [0; NEAR],
            bound: [0.0; NEAR],
            n: 0,
        };
        if !half {
            near.tiles[0] = cell.tile;
            near.n = 1;
        }
        let cols = if self.nphi == 1 { 0 } else { k };
        for oy in 0..=2 * k {
            // Rows in the order 0, 1, −1, 2, −2, …: nearer rows first.
            let oy = if oy % 2 == 1 { oy / 2 + 1 } else { -(oy / 2) };
            let row = iy + oy;
            if row < 0 || row >= self.ny as isize || (half && oy < 0) {
                continue;
            }
            // Distance from the point to the row's near edge (rows beyond the outer rows'
            // nominal edges extend to ±∞, which only makes the true distance larger).
            let by = match oy {
                0 => 0.0,
                o if o > 0 => (self.ymin + row as f64 * self.wy - rap).max(0.0),
                _ => (rap - (self.ymin + (row + 1) as f64 * self.wy)).max(0.0),
            };
            for op in -cols..=cols {
                if (oy == 0 && op == 0) || (half && oy == 0 && op < 0) {
                    continue;
                }
                let bp = match op {
                    0 => 0.0,
                    o if o > 0 => ((ip + o) as f64 * self.wphi - phi).max(0.0),
                    o => (phi - (ip + o + 1) as f64 * self.wphi).max(0.0),
                };
                // |op| ≤ REACH < nphi: one wrap at most (and no division).
                let mut col = ip + op;
                if col < 0 {
                    col += nphi;
                } else if col >= nphi {
                    col -= nphi;
                }
                near.tiles[near.n] = (row as usize * self.nphi + col as usize) as u32;
                near.bound[near.n] = by * by + bp * bp;
                near.n += 1;
            }
        }
        near
    }
}

/// An object and its links in its tile's list, in one record so a scan touches one cache line.
#[derive(Clone, Copy, Debug)]
struct Node {
    b: Brief,
    next: u32,
    prev: u32,
    cell: Cell,
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
        let cell = self.grid.cell(self.nodes[s].b.rap, self.nodes[s].b.phi);
        let t = cell.tile;
        let h = self.head[t as usize];
        let node = &mut self.nodes[s];
        node.cell = cell;
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
            cell,
            ..
        } = self.nodes[s];
        let tile = cell.tile;
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

    /// Nearest neighbour of slot `s` among the objects in the tiles around it, skipping tiles
    /// that cannot hold anything closer than the best so far.
    fn set_nn(&mut self, s: usize) {
        let me = self.nodes[s].b;
        let (mut best, mut nn) = (self.r2, NONE);
        let near = self.grid.near(self.nodes[s].cell, me.rap, me.phi, false);
        for (&t, &bound) in near.tiles[..near.n].iter().zip(&near.bound[..near.n]) {
            if bound > best + SLACK {
                continue;
            }
            let mut k = self.head[t as usize];
            while k != NONE {
                let node = &self.nodes[k as usize];
                let d = me.dist(&node.b);
                // Non-short-circuit `&` and selects: no hard-to-predict branches.
                let closer = (d < best) & (k as usize != s);
                best = if closer { d } else { best };
                nn = if closer { k } else { nn };
                k = node.next;
            }
        }
        self.nodes[s].b.nn = nn;
        self.nodes[s].b.nn_dist = best;
    }

    /// Initial neighbours of all objects: each pair of objects in the same or nearby tiles is
    /// looked at once, updating both.
    fn set_all_nn(&mut self) {
        for t in 0..self.grid.n_tiles() {
            let mut a = self.head[t];
            while a != NONE {
                let me = self.nodes[a as usize].b;
                let (mut best, mut nn) = (me.nn_dist, me.nn);
                // The rest of a's own tile, then the tiles after it.
                (best, nn) = self.cross(a, &me, best, nn, self.nodes[a as usize].next);
                let near = self
                    .grid
                    .near(self.nodes[a as usize].cell, me.rap, me.phi, true);
                for (&u, &bound) in near.tiles[..near.n].iter().zip(&near.bound[..near.n]) {
                    if bound <= self.r2 + SLACK {
                        (best, nn) = self.cross(a, &me, best, nn, self.head[u as usize]);
                    }
                }
                self.nodes[a as usize].b.nn_dist = best;
                self.nodes[a as usize].b.nn = nn;
                a = self.nodes[a as usize].next;
            }
        }
    }

    /// Compares object `a` (record `me`, running neighbour `best`, `nn`) with every object of
    /// the list starting at `b`, updating theirs in place and returning a's.
    #[inline]
    fn cross(&mut self, a: u32, me: &Brief, mut best: f64, mut nn: u32, mut b: u32) -> (f64, u32) {
        while b != NONE {
            let node = &mut self.nodes[b as usize];
            let d = me.dist(&node.b);
            let closer = d < best;
            best = if closer { d } else { best };
            nn = if closer { b } else { nn };
            let closer = d < node.b.nn_dist;
            node.b.nn_dist = if closer { d } else { node.b.nn_dist };
            node.b.nn = if closer { a } else { node.b.nn };
            b = node.next;
        }
        (best, nn)
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
    /// within R of the new position of `keep` (visited first, measuring the distance to it),
    /// the former within R of the old positions of `a` and `b` (`old`: cell, rapidity, φ).
    fn update_after_merge(&mut self, a: usize, b: usize, keep: usize, old: [(Cell, f64, f64); 2]) {
        self.step += 1;
        let new = self.nodes[keep];
        // keep's own neighbour, accumulated here and stored at the end.
        let (mut best, mut nn) = (self.r2, NONE);
        let centres = [(new.cell, new.b.rap, new.b.phi), old[0], old[1]];
        for (pass, (c, rap, phi)) in centres.into_iter().enumerate() {
            let near = self.grid.near(c, rap, phi, false);
            for (&t, &bound) in near.tiles[..near.n].iter().zip(&near.bound[..near.n]) {
                if bound > self.r2 + SLACK || self.stamp[t as usize] == self.step {
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
                    let nn_i = self.nodes[i].b.nn as usize;
                    let lost = nn_i == a || nn_i == b;
                    if lost {
                        self.set_nn(i);
                    }
                    if pass == 0 {
                        // Only objects within R of keep's new position can be closer to it.
                        let bi = &mut self.nodes[i].b;
                        let d = bi.dist(&new.b);
                        let closer = d < bi.nn_dist;
                        bi.nn_dist = if closer { d } else { bi.nn_dist };
                        bi.nn = if closer { keep as u32 } else { bi.nn };
                        let closest = d < best;
                        best = if closest { d } else { best };
                        nn = if closest { i as u32 } else { nn };
                        if lost | closer {
                            self.refresh(i);
                        }
                    } else if lost {
                        self.refresh(i);
                    }
                }
            }
        }
        self.nodes[keep].b.nn_dist = best;
        self.nodes[keep].b.nn = nn;
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
                cell: Cell::default(),
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
        let (k, dmin) = argmin(&st.dist);
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
        let old = [a, b].map(|s| (st.nodes[s].cell, st.nodes[s].b.rap, st.nodes[s].b.phi));
        st.deactivate(gone);
        st.unlink(keep);
        st.nodes[keep].b = Brief::new(g, new, r2);
        st.insert(keep);
        st.update_after_merge(a, b, keep, old);
    }
}
