//! The decay history of one HepMC3 event, kept only when asked for: which final-state particles
//! descend from a particle of given species (e.g. the Z boson's leptons and their photons).

use std::collections::HashMap;

/// Production links of one event: particle → its production vertex (or parent particle), vertex
/// → its incoming particles.
pub(crate) struct History {
    /// PDG ids whose descendants are dropped.
    exclude: Vec<i32>,
    /// Particle id → (PDG id, `parent` field of its P line: a vertex id < 0, a particle id > 0,
    /// or 0 for none).
    particles: HashMap<u64, (i32, i64)>,
    /// Vertex id (< 0) → its incoming particles, from the V lines.
    vertices: HashMap<i64, Vec<u64>>,
    /// Particle id → whether it descends from an excluded species (memo, filled on demand).
    memo: HashMap<u64, bool>,
}

impl History {
    pub(crate) fn new(exclude: Vec<i32>) -> Self {
        History {
            exclude,
            particles: HashMap::new(),
            vertices: HashMap::new(),
            memo: HashMap::new(),
        }
    }

    /// The excluded PDG ids.
    pub(crate) fn into_excluded(self) -> Vec<i32> {
        self.exclude
    }

    /// Forgets the previous event.
    pub(crate) fn clear(&mut self) {
        self.particles.clear();
        self.vertices.clear();
        self.memo.clear();
    }

    pub(crate) fn add_particle(&mut self, id: u64, pid: i32, parent: i64) {
        self.particles.insert(id, (pid, parent));
    }

    pub(crate) fn add_vertex(&mut self, id: i64, incoming: Vec<u64>) {
        self.vertices.insert(id, incoming);
    }

    /// The particles whose decay (or splitting) produced `id`. A parent that is missing from the
    /// event (a vertex without a V line, an id without a P line) contributes no ancestors.
    fn ancestors(&self, id: u64) -> Vec<u64> {
        match self.particles.get(&id) {
            Some(&(_, parent)) if parent > 0 => vec![parent.unsigned_abs()],
            Some(&(_, parent)) if parent < 0 => {
                self.vertices.get(&parent).cloned().unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    fn is_excluded(&self, id: u64) -> bool {
        self.particles
            .get(&id)
            .is_some_and(|(pid, _)| self.exclude.contains(pid))
    }

    /// Whether some ancestor of `id` (not `id` itself) has an excluded PDG id. Iterative, so deep
    /// histories cannot overflow the stack; a cycle (malformed input) counts as no descent.
    pub(crate) fn descends(&mut self, id: u64) -> bool {
        let mut stack = vec![(id, false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                let ancestors = self.ancestors(node);
                let from_excluded = ancestors
                    .iter()
                    .any(|&a| self.is_excluded(a) || self.memo.get(&a).copied().unwrap_or(false));
                self.memo.insert(node, from_excluded);
                continue;
            }
            if self.memo.contains_key(&node) {
                continue;
            }
            // Provisional "no" marks the node as on the current path, which breaks cycles.
            self.memo.insert(node, false);
            stack.push((node, true));
            for a in self.ancestors(node) {
                if !self.memo.contains_key(&a) {
                    stack.push((a, false));
                }
            }
        }
        self.memo.get(&id).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descent_through_vertices_and_parents_with_diamonds_and_cycles() {
        // 1 (Z) → vertex -1 → 2 (μ) → 3 (γ), 4 (μ); 5 (gluon) and 2 → vertex -2 → 6 (π);
        // 7 and 8 point at each other (a cycle).
        let mut h = History::new(vec![23]);
        h.add_particle(1, 23, 0);
        h.add_particle(2, 13, -1);
        h.add_particle(3, 22, 2);
        h.add_particle(4, 13, 2);
        h.add_particle(5, 21, 0);
        h.add_particle(6, 211, -2);
        h.add_particle(7, 211, 8);
        h.add_particle(8, 211, 7);
        h.add_vertex(-1, vec![1]);
        h.add_vertex(-2, vec![5, 2]);
        assert!(h.descends(3));
        assert!(h.descends(4));
        assert!(h.descends(6));
        assert!(!h.descends(1));
        assert!(!h.descends(5));
        assert!(!h.descends(7));
        assert!(!h.descends(99));
        h.clear();
        assert!(!h.descends(3));
    }
}
