#!/usr/bin/env python3
"""Plants the bugs of issue 10's table one at a time and checks that the test written for each
one fails with it (and passes without it).

    python3 tools/plant_mutations.py            # every row (~1 min per row after a first build)
    python3 tools/plant_mutations.py tanh cbrt  # only these rows
    python3 tools/plant_mutations.py --list     # the rows

The working tree is never touched: the script copies it (without target/ and .git/) to
$PLANT_DIR (default $TMPDIR/stochad-plant or /tmp/stochad-plant), builds there with its own
target directory (release, incremental, no debug info, so a row rebuilds in seconds), plants a
row by replacing one exact piece of source text (the row fails loudly if that text is gone: the
code moved on and the row needs updating), runs the row's tests, and restores the file.

Exit status 0 when every planted bug was caught. The broad complement is `cargo mutants` (see
docs/mutation_testing.md); these rows are the bugs a review found the suite blind to.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get(
    "PLANT_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "stochad-plant")
)
SRC = os.path.join(WORK, "src")
TIMEOUT = 900  # seconds per row (build + tests): a planted endless loop fails, not hangs
# The first, cold build of the copy: ~4 min on two idle cores, over 15 min on a busy machine.
BUILD_TIMEOUT = 3600

# (name, bug, file, [(original text, planted text), ...], [(test target, test name), ...])
ROWS = [
    (
        "baseline",
        "leave-one-out baseline includes the sample itself (bias d/n)",
        "src/estimate.rs",
        [(
            "        let b = (total - s.value) / (n - 1) as f64;\n        for d in 0..N {",
            "        let b = total / n as f64;\n        for d in 0..N {",
        )],
        [("estimator_arithmetic", "leave_one_out_baseline_by_hand")],
    ),
    (
        "score-mix-own-half",
        "score mix fits λ on the sample's own half",
        "src/estimate.rs",
        [(
            "let lam = lambda[1 - i % 2];",
            "let lam = lambda[i % 2];",
        )],
        [("estimator_arithmetic", "score_mix_by_hand")],
    ),
    (
        "score-mix-clamp",
        "the score mix takes λ as fitted, unclamped (a small batch's fit has no mean)",
        "src/estimate.rs",
        [(
            "                (-cov / var).clamp(0.0, 1.0)\n",
            "                -cov / var\n",
        )],
        [("estimator_arithmetic", "score_mix_by_hand")],
    ),
    (
        "categorical-score",
        "categorical score drops its −Σdw/Σw term",
        "src/sample/categorical.rs",
        [(
            "tangents[k] / params[k] - sum4(tangents) / sum4(params)",
            "tangents[k] / params[k]",
        )],
        [
            ("estimator_arithmetic", "categorical_score_by_hand"),
            ("estimators", "score_without_baseline_on_unnormalised_categoricals"),
        ],
    ),
    (
        "logits-temperature",
        "categorical_logits temperature off by 5 %",
        "src/sample/mod.rs",
        [(
            "logits.iter().map(|&l| (l - max).exp()).collect();",
            "logits.iter().map(|&l| ((l - max) * 1.05).exp()).collect();",
        )],
        [("programs", "softmax_categorical_against_an_independent_softmax")],
    ),
    (
        "tanh",
        "tanh derivative 1 − f² → 1 + f²",
        "src/scalar.rs",
        [(
            "self.map1(f64::tanh, |_, fx| 1.0 - fx * fx)",
            "self.map1(f64::tanh, |_, fx| 1.0 + fx * fx)",
        )],
        [("scalar_methods", "derivatives_of_every_method_on_every_number_type")],
    ),
    (
        "cbrt",
        "cbrt derivative 1/(3f²) → 1/(3f)",
        "src/scalar.rs",
        [(
            "self.map1(f64::cbrt, |_, fx| 1.0 / (3.0 * fx * fx))",
            "self.map1(f64::cbrt, |_, fx| 1.0 / (3.0 * fx))",
        )],
        [("scalar_methods", "derivatives_of_every_method_on_every_number_type")],
    ),
    (
        "log10",
        "log10 derivative uses ln 2 instead of ln 10",
        "src/scalar.rs",
        [(
            "self.map1(f64::log10, |x, _| 1.0 / (x * std::f64::consts::LN_10))",
            "self.map1(f64::log10, |x, _| 1.0 / (x * std::f64::consts::LN_2))",
        )],
        [("scalar_methods", "derivatives_of_every_method_on_every_number_type")],
    ),
    (
        "asin",
        "asin derivative 1/√(1 − x²) → 1/√(1 + x²)",
        "src/scalar.rs",
        [(
            "self.map1(f64::asin, |x, _| 1.0 / (1.0 - x * x).sqrt())",
            "self.map1(f64::asin, |x, _| 1.0 / (1.0 + x * x).sqrt())",
        )],
        [("scalar_methods", "derivatives_of_every_method_on_every_number_type")],
    ),
    (
        "acos",
        "acos derivative sign flipped",
        "src/scalar.rs",
        [(
            "self.map1(f64::acos, |x, _| -1.0 / (1.0 - x * x).sqrt())",
            "self.map1(f64::acos, |x, _| 1.0 / (1.0 - x * x).sqrt())",
        )],
        [("scalar_methods", "derivatives_of_every_method_on_every_number_type")],
    ),
    (
        "exp_m1",
        "exp_m1 derivative f + 1 → f",
        "src/scalar.rs",
        [(
            "self.map1(f64::exp_m1, |_, fx| fx + 1.0)",
            "self.map1(f64::exp_m1, |_, fx| fx)",
        )],
        [("scalar_methods", "derivatives_of_every_method_on_every_number_type")],
    ),
    (
        "smoothed-draw",
        "smoothed draw ignores the perturbations its parameters carry",
        "src/triple/smoothed.rs",
        [(
            "            .map(|(t, p)| t + p.tangent)\n",
            "            .map(|(t, _p)| *t)\n",
        )],
        [("estimators", "smoothed_draw_follows_the_perturbations_of_its_parameters")],
    ),
    (
        "propagate-first-world",
        "propagate carries only the first world's output (the others are dropped)",
        "src/propagate.rs",
        [(
            "                .map(|(j, &w)| (w, alts[j * n_out + i])),",
            "                .map(|(j, &w)| (w, alts[j * n_out + i]))\n                .take(1),",
        )],
        [
            ("propagate", "every_world_is_replayed_where_two_worlds_meet"),
            ("propagate", "select_with_several_worlds_is_unbiased"),
        ],
    ),
    (
        "pruning-probability",
        "pruning keeps the survivor with the other's probability",
        "src/triple/pruned.rs",
        [(
            "if ctx.prune_uniform(a, b) * total < wb.abs() {",
            "if ctx.prune_uniform(a, b) * total < wa.abs() {",
        )],
        [("properties", "pruning_with_unequal_jumps_matches_the_exact_backend")],
    ),
    (
        "replay-no-redraw",
        "a draw's replayed worlds keep the primal outcome (the carried worlds are never redrawn)",
        "src/triple/replay.rs",
        [(
            "    Ok((id, k_alt - draw.outcome))",
            "    Ok((id, 0.0 * (k_alt - draw.outcome)))",
        )],
        [("programs", "draws_feeding_draws")],
    ),
    (
        "boundary-outward",
        "at a domain boundary, the opposite direction's jumps keep their weights (sign flipped)",
        "src/sample/family.rs",
        [("        j.weight = -j.weight;", "        j.weight = j.weight;")],
        [("boundaries", "every_triple_backend_agrees_at_the_boundaries")],
    ),
    (
        "score-boundary",
        "the score function runs where the support grows inward (biased, no error)",
        "src/sample/family.rs",
        [(
            "            .any(|t| t != 0.0 && !t.is_nan())",
            "            .any(|t| t < 0.0 && !t.is_nan())",
        )],
        [("boundaries", "the_score_function_refuses_a_moving_support")],
    ),
    (
        "inversion-right",
        "inversion coupling never jumps right",
        "src/sample/categorical.rs",
        [(
            "        (left, right)\n    }",
            "        let _ = right;\n        (left, Vec::new())\n    }",
        )],
        [("programs", "categoricals_with_falling_probabilities")],
    ),
    (
        "rapidity-sign",
        "rapidity sign flipped for all pz",
        "src/jets/momentum.rs",
        [(
            "        if pz > 0.0 {\n            -y\n        } else {\n            y\n        }",
            "        if pz > 0.0 {\n            y\n        } else {\n            -y\n        }",
        )],
        [("world_safe_kinematics", "rapidity_of_known_momenta_in_both_hemispheres")],
    ),
    # Survivors of `cargo mutants` closed by new tests (docs/mutation_testing.md).
    (
        "without-worlds",
        "(cargo mutants) propagate's primal run sees the input's worlds",
        "src/triple/mod.rs",
        [(
            "            perts: [B::Pert::default(); N],\n            ..self",
            "            ..self",
        )],
        [("propagate", "comparisons_inside_propagate_see_plain_values")],
    ),
    (
        "with-coupling",
        "(cargo mutants) Categorical::with_coupling ignores its coupling",
        "src/sample/categorical.rs",
        [(
            "            coupling,\n            ..Self::default()",
            "            ..Self::default()",
        )],
        [("families", "the_requested_coupling_is_used")],
    ),
    (
        "couple-negated",
        "(cargo mutants) couple's fast path negated: triples are never coupled",
        "src/propagate.rs",
        [(
            "pub fn couple<X: Scalars>(x: &X) -> smallvec::SmallVec<[World; 4]> {\n    if !X::Scalar::CARRIES_WORLDS {",
            "pub fn couple<X: Scalars>(x: &X) -> smallvec::SmallVec<[World; 4]> {\n    if X::Scalar::CARRIES_WORLDS {",
        )],
        [("propagate", "couple_reduces_worlds_to_what_one_value_carries")],
    ),
    (
        "oracle-boundary",
        "(cargo mutants, bernoulli support) the oracle drops zero-probability outcomes that move",
        "src/dual.rs",
        [(
            ".any(|&t| t != 0.0 && !t.is_nan())",
            ".any(|&t| t != 0.0 && !t.is_nan() && false)",
        )],
        [("exact_oracle", "derivatives_at_the_boundaries_keep_zero_probability_outcomes")],
    ),
    # Issue 8's silent wrong answers, closed by new tests.
    (
        "smoothed-no-worlds",
        "(issue 8) smoothed values keep no worlds: propagate returns a silent 0",
        "src/triple/smoothed.rs",
        [(
            "            worlds: pack(buf),\n",
            "            worlds: { let _ = buf; KeepPert::default() },\n",
        )],
        [("propagate", "smoothed_backend_replays_jumps_through_propagate")],
    ),
    (
        "run-coupling-ignored",
        "(issue 8) the driver's .coupling(…) is ignored by categorical draws",
        "src/sample/mod.rs",
        [(
            "    with_ctx(\"\", |ctx| ctx.options.default_coupling).unwrap_or_default()",
            "    Coupling::default()",
        )],
        [("sharp_edges", "the_drivers_default_coupling_reaches_unnamed_draws_only")],
    ),
    (
        "tiled-endless-loop",
        "(not in the table) a tile list that points at itself: the tiled search loops forever",
        "src/jets/cluster/tiled.rs",
        [(
            "        if p == NONE {\n            self.head[tile as usize] = n;",
            "        if p == NONE {\n            self.head[tile as usize] = s as u32;",
        )],
        [("lib", "tiled_equals_plain_on_random_events")],
    ),
    (
        "csv-five-columns",
        "CSV row with 5 columns read as pid 0",
        "src/jets/io/csv.rs",
        [
            ("    if n != fields.len() {", "    if n != fields.len() && n != 5 {"),
            (
                "    let pid = check::pid(fields[5])?;",
                "    let pid = if n == 5 { 0 } else { check::pid(fields[5])? };",
            ),
        ],
        [("io", "csv_rows_with_a_missing_or_extra_column_are_errors")],
    ),
    (
        "heap-no-fold",
        "heap strategies skip the φ fold of ΔR² in tiles whose neighbours cross φ = 0",
        "src/jets/cluster/heap.rs",
        [(
            "let wrap_free = !periodic && n_phi >= 2 * reach + 3;",
            "let wrap_free = true;",
        )],
        [("fastjet_agreement", "jets_agree_with_fastjet")],
    ),
    (
        "pair-gradient-min-side",
        "the pair distance's derivative in s goes to the softer object, not the one the min picks",
        "src/jets/qantikt/candidates.rs",
        [(
            "    [gy, gp, gsa, -gy, -gp, gsb]",
            "    [gy, gp, gsb, -gy, -gp, gsa]",
        )],
        [("lib", "pair_distance_gradients_match_finite_differences")],
    ),
    (
        "fan-weight",
        "fanned proportional coupling gives each of its m parts the whole rate",
        "src/sample/categorical.rs",
        [(
            "let part = -dk / (w[k] / total) / m as f64;",
            "let part = -dk / (w[k] / total);",
        )],
        [
            ("families", "sampled_jumps_match_rates_in_expectation"),
            ("families", "fanned_proportional_coupling_spreads_the_same_jump"),
        ],
    ),
    (
        "cv-batch-mean",
        "output control variate centred on the batch's own outputs, not the twin's runs",
        "src/control.rs",
        [(
            "        Ok(controlled(&samples, &twins, columns))",
            "        let twins: Vec<f64> = samples.iter().map(|s| s.value).collect();\n"
            "        Ok(controlled(&samples, &twins, columns))",
        )],
        [("estimators", "control_variate_is_unbiased_and_its_stderr_honest")],
    ),
    (
        "cv-own-fold",
        "output control variate fits each fold's coefficients on every sample, the fold's own included",
        "src/control.rs",
        [(
            "                for s in rest(p) {",
            "                for s in samples.iter() {",
        )],
        [("lib", "correction_uses_the_twin_mean_and_the_other_folds_coefficients")],
    ),
    (
        "cv-support-ulps",
        "output control variate counts outputs that differ by rounding only as support for its columns",
        "src/control.rs",
        [(
            "let tol = 1e-9 * centre.abs().max(f64::MIN_POSITIVE);",
            "let tol = 0.0 * centre.abs().max(f64::MIN_POSITIVE);",
        )],
        [("lib", "output_off_its_mode_by_rounding_only_gets_no_coefficient")],
    ),
    (
        "cv-twin-noise",
        "output control variate's standard error leaves out the twin means' noise",
        "src/control.rs",
        [(
            "(var_part / (n * n) as f64 + tv / nt).sqrt()",
            "(var_part / (n * n) as f64).sqrt()",
        )],
        [
            ("lib", "correction_uses_the_twin_mean_and_the_other_folds_coefficients"),
            ("estimators", "control_variate_is_unbiased_and_its_stderr_honest"),
        ],
    ),
    (
        "keep-spill-halved",
        "keep-K payloads with more worlds than they hold inline store wrong differences in the arena",
        "src/triple/keep.rs",
        [(
            "    ctx.worlds.keep.extend_from_slice(entries);",
            "    ctx.worlds.keep.extend(entries.iter().map(|&(i, d)| (i, d * 0.5)));",
        )],
        [("keep_backend", "values_carrying_many_worlds_match_the_all_worlds_backend")],
    ),
    (
        "signed-loss-sign",
        "signed coupling: the jump to a category losing mass gets a positive weight",
        "src/sample/categorical.rs",
        [(
            "        let part = sign * side / m as f64;",
            "        let part = side / m as f64;",
        )],
        [("families", "sampled_jumps_match_rates_in_expectation")],
    ),
    (
        "signed-fan-weight",
        "fanned signed coupling gives each of its m parts the whole side",
        "src/sample/categorical.rs",
        [(
            "        let part = sign * side / m as f64;",
            "        let part = sign * side;",
        )],
        [
            ("families", "sampled_jumps_match_rates_in_expectation"),
            ("families", "fanned_signed_coupling_spreads_the_same_jumps"),
        ],
    ),
    (
        "cv-twin-unchecked",
        "output control variate accepts a twin that is not the program",
        "src/control.rs",
        [(
            "if twin.to_bits() != s.value.to_bits() && !(twin.is_nan() && s.value.is_nan())",
            "if false",
        )],
        [("estimators", "control_variate_checks_its_twin_and_configuration")],
    ),
    (
        "feature-column-dropped",
        "control variate leaves out the feature-weighted score (the state-dependent baseline)",
        "src/control.rs",
        [(
            "            feature: recorded,\n",
            "            feature: false,\n",
        )],
        [("estimators", "baseline_feature_is_unbiased_and_lowers_the_score_functions_variance")],
    ),
    (
        "feature-score-biased",
        "feature-weighted score picks up each draw's own score (s·(φ + s): its mean is not 0)",
        "src/context.rs",
        [(
            "self.feature_score[dir] += s * self.feature;",
            "self.feature_score[dir] += s * (self.feature + s);",
        )],
        [("estimators", "baseline_feature_is_unbiased_and_lowers_the_score_functions_variance")],
    ),
    (
        "search-threshold-lag",
        "Qanti-kT's search raises its cache threshold only when the bound passes twice it (pairs "
        "just below the bound, weights ~1e-9, are skipped)",
        "src/jets/qantikt/search.rs",
        [(
            "        if bound > self.cache_t {",
            "        if bound > 2.0 * self.cache_t {",
        )],
        [("lib", "live_candidates_are_every_candidate_below_the_bound")],
    ),
    (
        "search-filed-stale",
        "Qanti-kT's search moves filed pairs into the cache without dropping those whose slots "
        "changed since they were filed",
        "src/jets/qantikt/search.rs",
        [(
            "                    if self.changed[a] <= f.born && self.changed[c] <= f.born {",
            "                    if true {",
        )],
        [("lib", "live_candidates_are_every_candidate_below_the_bound")],
    ),
    (
        "weights-check-blocks",
        "the categorical weight check takes the smallest weight of the tail only, not of the "
        "blocks of four (a negative weight among the first 4k passes)",
        "src/sample/categorical.rs",
        [(
            "            *l = if x < *l { x } else { *l };",
            "            *l = *l;",
        )],
        [("families", "bad_parameters_are_typed_errors")],
    ),
    (
        "world-views-primal",
        "Qanti-kT's world rows read every varying slot's primal view, whatever the world",
        "src/jets/qantikt/candidates.rs",
        [(
            "            let x = st.search.views(v as usize)[st.varying_view_index(v as usize, world)];",
            "            let x = st.search.views(v as usize)[0];",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "views-from-kinematics",
        "Qanti-kT reads a varying slot's view in each world from its kinematics' values there "
        "(kept as differences to the primal: a world's scale is lost beside FastJet's 1e300)",
        "src/jets/qantikt/state.rs",
        [(
            "            views.push(View {\n                world: Some(w),\n                y,\n",
            "            let (y, phi, s) = (kin[0].value_in_live(w), kin[1].value_in_live(w), "
            "kin[2].value_in_live(w));\n"
            "            views.push(View {\n                world: Some(w),\n                y,\n",
        )],
        [("qantikt", "a_merged_object_with_pt_zero_keeps_the_other_worlds")],
    ),
    (
        "huge-pt-check",
        "Qanti-kT accepts a particle whose pt² overflows (scale 0: reported as coincident "
        "particles)",
        "src/jets/qantikt/mod.rs",
        [(
            "            if p.pt2().is_infinite() {",
            "            if false && p.pt2().is_infinite() {",
        )],
        [("qantikt", "bad_input_is_a_typed_error")],
    ),
    (
        "each-world-pairs-view",
        "Qanti-kT's search computes the pairs of slots that differ between worlds from the "
        "primal's views in every world (the world table filled with each slot's first view)",
        "src/jets/qantikt/search.rs",
        [(
            "                let v = &self.row_view[self.view_at[i * nw + k] as usize];",
            "                let v = &self.row_view[self.row_start[i] as usize + 0 * k];",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "each-world-pairs-off",
        "Qanti-kT's search counts a pair of slots that differ between worlds in a world where "
        "one of them is inactive",
        "src/jets/qantikt/search.rs",
        [(
            "                    *o = if on_a & on_b { x } else { f64::INFINITY };",
            "                    *o = if on_a | on_b { x } else { f64::INFINITY };",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "map-n-world-free",
        "a triple's map_n keeps only the last input's tangent term",
        "src/triple/mod.rs",
        [(
            "                if g[j] != 0.0 {\n                    *d += g[j] * t.delta[i];",
            "                if g[j] != 0.0 {\n                    *d = g[j] * t.delta[i];",
        )],
        [("map_n", "map_n_derivative_estimates_agree")],
    ),
    (
        "world-weights-negligible",
        "Qanti-kT drops world weights far above the negligible ratio (below ~2 % of the largest)",
        "src/jets/qantikt/candidates.rs",
        [(
            "            if e < ln_negligible {",
            "            if e < 0.1 * ln_negligible {",
        )],
        [("qantikt", "estimators_agree_with_the_exact_gradient"),
         ("qantikt", "dense_and_sparse_candidates_take_the_same_steps")],
    ),
    (
        "weights-constant-path",
        "Qanti-kT takes a candidate's distance as a constant in its weight whenever its flag is "
        "one (a beam entry's R tangent lost)",
        "src/jets/qantikt/candidates.rs",
        [(
            "        if x.is_constant() && a.is_constant() {",
            "        if a.is_constant() {",
        )],
        [("qantikt", "estimators_agree_with_the_exact_gradient"),
         ("qantikt", "exact_oracle_matches_an_independent_enumeration")],
    ),
    (
        "weights-constant-path-alpha",
        "Qanti-kT's weight of a constant candidate drops its α partial",
        "src/jets/qantikt/candidates.rs",
        [(
            "                    [gm, gal]",
            "                    [gm, 0.0]",
        )],
        [("qantikt", "estimators_agree_with_the_exact_gradient"),
         ("qantikt", "exact_oracle_matches_an_independent_enumeration")],
    ),
    (
        "rerun-sign",
        "rerun keeps a flip's weight without its sign",
        "src/rerun.rs",
        [(
            "            sign: w.signum(),",
            "            sign: 1.0,",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-total",
        "rerun's kept flip weighs only its own |w|, not the direction's total",
        "src/rerun.rs",
        [(
            "        self.total[dir] += w.abs();",
            "        self.total[dir] = w.abs();",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-no-flip",
        "rerun's re-run does not force the flipped outcome",
        "src/sample/mod.rs",
        [(
            "                forced\n            } else {",
            "                family.quantile(params, u)\n            } else {",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-path-check",
        "rerun's re-run does not check the draws before its flip against the recording run",
        "src/sample/mod.rs",
        [(
            "                if let Some(&want) = path.get(i as usize).filter(|w| i < at && !w.is_nan()) {",
            "                if let Some(&want) = path.get(i as usize).filter(|_| false) {",
        )],
        [("rerun", "a_twin_that_is_not_the_program_is_an_error")],
    ),
    (
        "rerun-count-check",
        "rerun's re-run does not check the flipped draw's parameter count",
        "src/sample/mod.rs",
        [(
            "                if params.len() != count {",
            "                if params.len() != count && false {",
        )],
        [("rerun", "a_twin_that_is_not_the_program_is_an_error")],
    ),
    (
        "rerun-twin-check",
        "rerun does not compare the twin's output with the program's",
        "src/rerun.rs",
        [(
            "        if twin.to_bits() != value.to_bits() {",
            "        if twin.to_bits() != value.to_bits() && false {",
        )],
        [("rerun", "a_twin_that_is_not_the_program_is_an_error")],
    ),
    (
        "rerun-reached-check",
        "rerun does not check that the re-run reached its flip",
        "src/rerun.rs",
        [(
            "        if ctx.rng.draws <= at {",
            "        if ctx.rng.draws <= at && false {",
        )],
        [("rerun", "a_twin_that_stops_drawing_before_the_flip_is_an_error")],
    ),
    (
        "rerun-draw-index",
        "rerun records each draw at its place among the recorded draws, not at its number among "
        "the primal uniforms (a relaxed draw's uniforms shift the flips)",
        "src/rerun.rs",
        [(
            "            let i = at as usize;",
            "            let i = flips.path.iter().filter(|x| !x.is_nan()).count();",
        )],
        [("rerun", "uniforms_taken_by_a_relaxed_draw_keep_the_flips_in_place")],
    ),
    (
        "rerun-every-weight",
        "rerun with every flip re-run weighs each by |w|, not w",
        "src/rerun.rs",
        [(
            "            every.push((dir, at, target, w));",
            "            every.push((dir, at, target, w.abs()));",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-shared-flip",
        "rerun shares a re-run between flips of the same draw to different targets",
        "src/rerun.rs",
        [(
            "            let alt = match done.iter().find(|e| e.0 == at && e.1 == target.to_bits()) {",
            "            let alt = match done.iter().find(|e| e.0 == at) {",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-finite-check",
        "rerun lets a jump weight that is not finite through (the reservoir skips it silently)",
        "src/rerun.rs",
        [(
            "        if let Some(d) = flips.total.iter().position(|t| !t.is_finite()) {",
            "        if let Some(d) = flips.total.iter().position(|t| !t.is_finite() && false) {",
        )],
        [("rerun", "a_jump_weight_that_is_not_finite_is_an_error")],
    ),
    (
        "rerun-shared-weight",
        "rerun with one flip shared weighs it by w, not by its importance ratio w/q",
        "src/rerun.rs",
        [(
            "            (w != 0.0).then_some((d, at, target, w / q))",
            "            (w != 0.0).then_some((d, at, target, w))",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-shared-q",
        "rerun with one flip shared takes q from the chosen direction's share alone",
        "src/rerun.rs",
        [(
            "        .sum::<f64>()\n        / live.len() as f64;",
            "        .fold(0.0, |_, x: f64| x);",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "nonzero-count",
        "the estimate counts every run as nonzero (a batch that met no rare run looks trustworthy)",
        "src/estimate.rs",
        [(
            ".filter(|s| s.derivative[d] != 0.0)",
            ".filter(|_| true)",
        )],
        [("estimator_arithmetic", "runs_with_a_nonzero_estimate_are_counted_and_few_are_flagged")],
    ),
    (
        "nonzero-display",
        "Display leaves out the warning of a direction that rests on few runs",
        "src/estimate.rs",
        [(
            "        for (d, few) in self.rests_on_few_runs().into_iter().enumerate() {\n            if few {",
            "        for (d, few) in self.rests_on_few_runs().into_iter().enumerate() {\n            if few && d > N {",
        )],
        [("estimator_arithmetic", "runs_with_a_nonzero_estimate_are_counted_and_few_are_flagged")],
    ),
    (
        "cv-nonzero-count",
        "the controlled estimate counts its adjusted samples as the runs' own estimates",
        "src/control.rs",
        [(
            "        nonzero: crate::estimate::nonzero(samples),",
            "        nonzero: [n; N],",
        )],
        [("lib", "control::tests::the_controlled_estimate_counts_the_runs_own_nonzero_estimates")],
    ),
    (
        "cv-mix-clamp",
        "the output CV fits the score mix's difference freely (a mix weight far outside [0, 1])",
        "src/control.rs",
        [(
            "    let Some(j) = mix.filter(|&j| j < m && !(-1.0..=0.0).contains(&c[j])) else {",
            "    let Some(j) = mix.filter(|_| false) else {",
        )],
        [("lib", "control::tests::the_mix_column_mixes_with_a_weight_in_0_1")],
    ),
    (
        "cv-mix-refit",
        "the output CV clamps the mix column's coefficient but keeps the others' free fit",
        "src/control.rs",
        [(
            "    let mut c = solve_skipping(&without, &rest, m);\n    c[j] = cj;",
            "    let _ = (without, rest);\n    let mut c = c;\n    c[j] = cj;",
        )],
        [("lib", "control::tests::the_mix_column_mixes_with_a_weight_in_0_1")],
    ),
    (
        "qantikt-fast-distances",
        "the f64 fast path of the candidates' distances takes a beam entry's distance as s·R, not s·R²",
        "src/jets/qantikt/candidates.rs",
        [(
            "let beam = st.kin[c.a as usize][2].primal_value() * r2;",
            "let beam = st.kin[c.a as usize][2].primal_value() * r2.sqrt();",
        )],
        [("qantikt", "dense_and_sparse_candidates_take_the_same_steps")],
    ),
    (
        "rerun-reservoir-raise",
        "a reservoir of k flips leaves its kept light flips at their own weight, not raised to τ",
        "src/rerun.rs",
        [(
            "        if h.weight < tau {\n            h.weight = tau;\n        }",
            "        if h.weight < tau && h.weight < 0.0 {\n            h.weight = tau;\n        }",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient"),
         ("qantikt", "estimators_agree_with_the_exact_gradient")],
    ),
    (
        "rerun-reservoir-new-weight",
        "a reservoir of k flips keeps a light newcomer at its own weight, not τ",
        "src/rerun.rs",
        [(
            "        weight: w.max(tau),",
            "        weight: w,",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-reservoir-tau",
        "a reservoir of k flips solves for τ with s, not s − 1, light weights",
        "src/rerun.rs",
        [(
            "        let t = sum / (s - 1) as f64;",
            "        let t = sum / s as f64;",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-reservoir-heavy",
        "a reservoir of k ≥ 2 flips takes every weight as light when it solves for τ",
        "src/rerun.rs",
        [(
            "        if s == k + 1 || t <= sorted[s] {",
            "        if s == k + 1 {",
        )],
        [("rerun", "a_reservoir_of_a_few_flips_agrees_with_the_exact_gradient")],
    ),
    (
        "qantikt-mh-stop-leader",
        "QantiKt::mh stops once no jet of the active objects could beat the leading jet, not the second",
        "src/jets/qantikt/state.rs",
        [(
            "        let second = top[1] * (1.0 - 1e-9);",
            "        let second = top[0] * (1.0 - 1e-9);",
        )],
        [("qantikt", "mh_stops_with_the_finished_clusterings_value"),
         ("qantikt", "exact_oracle_matches_an_independent_enumeration")],
    ),
    (
        "qantikt-mh-stop-worlds",
        "QantiKt::mh stops a triple's clustering when the primal's mH is known, whatever its worlds",
        "src/jets/qantikt/state.rs",
        [(
            "        if !S::CARRIES_WORLDS {\n            return true;\n        }",
            "        if true {\n            return true;\n        }",
        )],
        [("qantikt", "estimators_agree_with_the_exact_gradient")],
    ),
    (
        "qantikt-mh-bound-lobe",
        "the subset-pT bound counts a vector only by its projection on each grid direction",
        "src/jets/qantikt/state.rs",
        [(
            "            let lobe = along * cd + across * sd;",
            "            let lobe = along;",
        )],
        [("lib", "largest_subset_pt_bounds_every_subset")],
    ),
    (
        "rerun-joint-parts",
        "a joint target hit by several systematic parts weighs as one part",
        "src/rerun.rs",
        [(
            "        let scale = n as f64 * total / (m as f64 * q);",
            "        let scale = total / (m as f64 * q);",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-joint-raise",
        "a joint reservoir's kept flips keep their own weights, not scaled by the raised size",
        "src/rerun.rs",
        [(
            "                out.push((d, h.flip.at, h.flip.target, x * (h.weight / size)));",
            "                out.push((d, h.flip.at, h.flip.target, x));",
        )],
        [("rerun", "a_reservoir_of_a_few_flips_agrees_with_the_exact_gradient"),
         ("qantikt", "estimators_agree_with_the_exact_gradient")],
    ),
    (
        "rerun-joint-nan",
        "joint jumps drop a direction whose rates are not finite (a silent 0)",
        "src/rerun.rs",
        [(
            "    if !bad.is_empty() {",
            "    if bad.is_empty() && bad.len() > 1 {",
        )],
        [("rerun", "a_jump_weight_that_is_not_finite_is_an_error")],
    ),
    (
        "rerun-reservoir-sign",
        "a reservoir's kept flips weigh |w| whatever the sign of their jump",
        "src/rerun.rs",
        [(
            ".map(move |h| (d, h.flip.at, h.flip.target, h.flip.sign * h.weight))",
            ".map(move |h| (d, h.flip.at, h.flip.target, h.weight))",
        )],
        [("rerun", "rerun_agrees_with_the_exact_gradient")],
    ),
    (
        "rerun-mix-score",
        "rerun's recording run does not record the score, so the score mix mixes in δ alone",
        "src/rerun.rs",
        [(
            "if let Err(e) = record_score(ctx, family, values, &tangents, d.outcome, dir) {",
            "if let Err(e) = Ok::<(), Error>(()) {",
        )],
        [("rerun", "the_score_mix_agrees_with_the_exact_gradient")],
    ),
    (
        "resume-sample0-check",
        "rerun_resumable checks resumed flips only when asked, not on sample 0",
        "src/rerun.rs",
        [(
            "        if index == 0 || self.check_resumes {",
            "        if self.check_resumes {",
        )],
        [("rerun", "a_resume_that_does_not_go_on_as_the_program_is_an_error")],
    ),
    (
        "resume-rng",
        "a resumed run starts from sample's first random numbers, not the checkpoint's",
        "src/rerun.rs",
        [(
            "            ctx.rng = saved.rng.clone();\n",
            "\n",
        )],
        [("rerun", "resumed_reruns_agree_with_the_exact_gradient")],
    ),
    (
        "resume-whole-check",
        "rerun_resumable's check compares the resumed flip with itself",
        "src/rerun.rs",
        [(
            "            if !same(whole, alt) {",
            "            if !same(alt, alt) {",
        )],
        [("rerun", "a_resume_that_does_not_go_on_as_the_program_is_an_error")],
    ),
    (
        "qantikt-resume-outcome",
        "Qanti-kT's resume merges the step's first candidate whatever the outcome",
        "src/jets/qantikt/mod.rs",
        [(
            "        st.apply(&cands, outcome)?;",
            "        st.apply(&cands, 0.0)?;",
        )],
        [("qantikt", "resumed_clusterings_go_on_as_whole_reruns_on_full_events")],
    ),
    (
        "search-snapshot-horizon",
        "a paused search drops its filed pairs but keeps its horizon (pairs go missing)",
        "src/jets/qantikt/search.rs",
        [(
            "        copy.horizon = self.horizon.min(self.cache_t);",
            "        copy.horizon = self.horizon;",
        )],
        [("qantikt", "resumed_clusterings_go_on_as_whole_reruns_on_full_events")],
    ),
    (
        "own-pairs-walk",
        "Qanti-kT's search (pairs by own slots) takes each world's smallest primal pair distance "
        "from the first pair, whichever slots the world sees otherwise",
        "src/jets/qantikt/search.rs",
        [(
            "                !self.own(i as usize, k, nw) && !self.own(j as usize, k, nw)\n",
            "                true\n",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "own-pairs-shared-cut",
        "Qanti-kT's search (pairs by own slots) tests a pair's primal distance against the "
        "smallest cutoff of the worlds that see both its slots as the primal, not the largest",
        "src/jets/qantikt/search.rs",
        [(
            "        by_cut.sort_unstable_by(|&a, &b| cuts[b as usize].total_cmp(&cuts[a as usize]));",
            "        by_cut.sort_unstable_by(|&a, &b| cuts[a as usize].total_cmp(&cuts[b as usize]));",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "own-pairs-both-own",
        "Qanti-kT's search (pairs by own slots) skips the pairs of two slots a world sees "
        "otherwise",
        "src/jets/qantikt/search.rs",
        [(
            "                for j in (0..nv).filter(|&j| j != i && !(j < i && self.own(j, k, nw))) {",
            "                for j in (0..nv).filter(|&j| j != i && !self.own(j, k, nw)) {",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "search-no-rescan",
        "Qanti-kT's search drains its buckets past the horizon instead of computing every pair "
        "again (pairs beyond the horizon, never filed, are never cached)",
        "src/jets/qantikt/search.rs",
        [("        if t <= self.horizon {", "        if true {")],
        [("lib", "live_candidates_are_every_candidate_below_the_bound")],
    ),
    (
        "search-rescan-twice",
        "Qanti-kT's rescan caches again the pairs the cache already holds (each such candidate "
        "listed twice)",
        "src/jets/qantikt/search.rs",
        [("                lo: self.cache_t,", "                lo: f64::NEG_INFINITY,")],
        [("lib", "live_candidates_are_every_candidate_below_the_bound")],
    ),
    (
        "search-horizon-unfiled",
        "Qanti-kT's search files a joining slot's pairs only below the cache threshold, not up "
        "to the horizon (they are lost until the next rescan)",
        "src/jets/qantikt/search.rs",
        [(
            "            nf += usize::from((x >= t) & (x < horizon) & (r < far));",
            "            nf += usize::from((x >= t) & (x < t) & (r < far));",
        )],
        [("lib", "live_candidates_are_every_candidate_below_the_bound")],
    ),
    (
        "search-varying-pairs",
        "Qanti-kT's search keeps a pair of two slots that differ between worlds only below half "
        "the bound",
        "src/jets/qantikt/search.rs",
        [(
            "                    *kept |= x < c;",
            "                    *kept |= x < 0.5 * c;",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "signed-negligible",
        "the signed couplings count categories of negligible weight (their tangents reach every "
        "category through the normalisation: a run that lists them opens jumps one that skips "
        "them does not)",
        "src/sample/categorical.rs",
        [(
            "        !(self.w[j] > 0.0 && self.w[j] <= self.floor)\n",
            "        !(self.w[j] > 0.0 && self.w[j] <= self.floor) || true\n",
        )],
        [("qantikt", "dense_and_sparse_candidates_take_the_same_steps")],
    ),
    (
        "search-world-view",
        "Qanti-kT's search takes every world's view of a slot that differs between worlds to be "
        "its primal one (per-world cutoffs from the wrong distances, alternative worlds' "
        "candidates dropped)",
        "src/jets/qantikt/search.rs",
        [(
            "                let at = views.iter().position(|x| x.world == *w).unwrap_or(0);",
            "                let at = 0;",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "search-view-cut",
        "Qanti-kT's search gives each view of a slot that differs between worlds the smallest "
        "cutoff of the worlds that see it, not the largest",
        "src/jets/qantikt/search.rs",
        [(
            "                cut[r] = cut[r].max(self.world_cut[k]);",
            "                cut[r] = if cut[r] == 0.0 { self.world_cut[k] } else { cut[r].min(self.world_cut[k]) };",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "search-world-min-mixed",
        "Qanti-kT's search bounds each world's smallest distance by the smallest over every view "
        "of the slots that differ between worlds, its own or not (a world whose objects are "
        "farther apart gets too low a cutoff)",
        "src/jets/qantikt/search.rs",
        [(
            "                let x = view_lo[self.view_at[i * nw + k] as usize];",
            "                let x = view_lo.iter().fold(f64::INFINITY, |a, &b| a.min(b)) + 0.0 * (i * nw + k) as f64;",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "attach-world-major",
        "propagate attaches each output number's worlds from the wrong place of the world-major "
        "table (another number's value in that world)",
        "src/propagate.rs",
        [(
            "                .map(|(j, &w)| (w, alts[j * n_out + i])),",
            "                .map(|(j, &w)| (w, alts[(j * n_out + i + j) % alts.len()])),",
        )],
        [("propagate", "every_output_number_gets_its_own_value_in_every_world")],
    ),
    (
        "keep-values-dir",
        "the keep backend's batched read gives a world the Δ of its id in the other direction",
        "src/triple/keep.rs",
        [(
            "                if w.dir == dir {\n                    *o = value + walk.delta(w.id);",
            "                if w.dir == dir || true {\n                    *o = value + walk.delta(w.id);",
        )],
        [("propagate", "batched_world_reads_and_writes_match_one_at_a_time")],
    ),
    (
        "keep-with-worlds-order",
        "the keep backend's batched write keeps the worlds in the order given (a payload's ids "
        "must be sorted)",
        "src/triple/keep.rs",
        [(
            "            buf.sort_unstable_by_key(|e| e.0);\n            store_in(ctx, &buf)",
            "            store_in(ctx, &buf)",
        )],
        [("propagate", "batched_world_reads_and_writes_match_one_at_a_time")],
    ),
    (
        "triple-with-worlds-dir",
        "the triple's batched write gives every direction's payload every world",
        "src/triple/mod.rs",
        [(
            "                    .filter(|e| e.0.dir as usize == dir)",
            "                    .filter(|e| e.0.dir as usize == dir || e.0.dir < 9)",
        )],
        [("propagate", "batched_world_reads_and_writes_match_one_at_a_time")],
    ),
    (
        "min-of-worlds",
        "the batched minimum of many-world numbers takes each world's largest value",
        "src/triple/mod.rs",
        [(
            "                *b = b.min(v);",
            "                *b = if b.is_finite() { b.max(v) } else { v };",
        )],
        [("propagate", "batched_world_reads_and_writes_match_one_at_a_time")],
    ),
    (
        "keep-walk-restart",
        "the keep backend's walk along a payload's ids never starts again (an id asked below the "
        "previous one reads as absent)",
        "src/triple/keep.rs",
        [(
            "        if self.at > 0 && self.ids[self.at - 1] >= id {\n            self.at = 0;",
            "        if self.at > 0 && self.ids[self.at - 1] >= id && false {\n            self.at = 0;",
        )],
        [("propagate", "batched_world_reads_and_writes_match_one_at_a_time")],
    ),
    (
        "replay-table-world",
        "a draw replayed in many worlds reads each parameter's Δ of another world",
        "src/triple/replay.rs",
        [(
            "                    deltas[i * nw + j]",
            "                    deltas[i * nw + (j + 1) % nw]",
        )],
        [("propagate", "a_draw_with_worlds_given_as_values_is_the_draw_of_numbers_carrying_them")],
    ),
    (
        "draw-given-skip",
        "a draw given its parameters' worlds as values redraws all but the first",
        "src/triple/replay.rs",
        [(
            "    for &(id, alt) in given {",
            "    for &(id, alt) in given.iter().skip(1) {",
        )],
        [("propagate", "a_draw_with_worlds_given_as_values_is_the_draw_of_numbers_carrying_them")],
    ),
    (
        "world-weights-reuse",
        "a world's weight is the primal's wherever the candidate's distance is, even where the "
        "world's smallest distance differs",
        "src/jets/qantikt/candidates.rs",
        [("        if m == m0 {", "        if m == m0 || true {")],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "world-weights-same-min",
        "a world takes the weights of an earlier world with another smallest distance",
        "src/jets/qantikt/candidates.rs",
        [(
            "        } else if let Some(&(_, j)) = firsts.iter().find(|f| f.0 == m) {",
            "        } else if let Some(&(_, j)) = firsts.iter().find(|_| true) {",
        )],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "world-weights-same-min-moved",
        "a world takes an earlier world's weights (same smallest distance) even for candidates "
        "it sees otherwise",
        "src/jets/qantikt/candidates.rs",
        [("                if xa != xa_j {", "                if false {")],
        [("lib", "live_candidates_cover_every_world")],
    ),
    (
        "world-weights-dropped",
        "Qanti-kT draws from the weights without worlds and drops the worlds' weights",
        "src/jets/qantikt/mod.rs",
        [(
            "                    if worlds.is_empty() {\n                        categorical_by(&w, &family)?",
            "                    if worlds.is_empty() || true {\n                        categorical_by(&w, &family)?",
        )],
        [("qantikt", "estimators_agree_with_the_exact_gradient")],
    ),
    (
        "world-weights-radius-worlds",
        "Qanti-kT takes the world-wise path where R carries worlds of its own (a program that draws "
        "R): R's worlds are dropped from the weights",
        "src/jets/qantikt/mod.rs",
        [(
            "            && r.worlds().is_empty()\n",
            "            && (r.worlds().is_empty() || true)\n",
        )],
        [("qantikt", "a_radius_drawn_by_the_program_keeps_its_worlds")],
    ),
    (
        "deterministic-primal-choice",
        "the deterministic clusterer takes the primal's smallest distance in every world (a radius "
        "the program draws is then silently ignored in its alternative worlds)",
        "src/jets/qantikt/mod.rs",
        [(
            "                Sampling::Deterministic => deterministic_choice(&d, &on),",
            "                Sampling::Deterministic => S::from(first_smallest(&d, &on) as f64),",
        )],
        [("qantikt", "deterministic_choices_follow_a_drawn_radius_in_every_world")],
    ),
    (
        "plain-fn-contract",
        "propagate_plain takes a function's f64 results on trust (one that computes otherwise "
        "with f64 gives every world a wrong difference to the primal)",
        "src/propagate.rs",
        [(
            "    if let Some((i, p, v)) = mismatch {",
            "    if let Some((i, p, v)) = mismatch.filter(|_| false) {",
        )],
        [("propagate", "a_plain_function_that_depends_on_the_number_type_is_an_error")],
    ),
    (
        "plain-fn-draws",
        "propagate_plain lets a function draw where there are no worlds to replay",
        "src/propagate.rs",
        [(
            "    if draws_so_far() != before {\n        return Err(Error::RandomnessInPropagate);\n    }\n    if worlds.is_empty() {",
            "    if worlds.is_empty() {",
        )],
        [("propagate", "randomness_inside_propagate_is_an_error")],
    ),
    (
        "rejoin-resumed-slots",
        "a resumed clustering is compared with the recorded one only in the slots the recorded step changed",
        "src/jets/qantikt/rejoin.rs",
        [(
            "        for i in [changed[0].0, changed[1].0, c.a, c.b] {",
            "        for i in [changed[0].0, changed[1].0] {",
        )],
        [("lib", "a_resumed_run_is_back_where_every_slot_is_the_recorded_ones")],
    ),
    (
        "rejoin-one-slot",
        "a resumed clustering counts as back with one slot still differing",
        "src/jets/qantikt/rejoin.rs",
        [(
            "        let back = self.differ.is_empty();",
            "        let back = self.differ.len() <= 1;",
        )],
        [("lib", "resumes_that_rejoin_the_recorded_history_end_with_its_mh"),
         ("qantikt", "resumed_clusterings_go_on_as_whole_reruns_on_full_events")],
    ),
    (
        "rejoin-off-by-one",
        "a resumed step is compared with the recorded step after it",
        "src/jets/qantikt/rejoin.rs",
        [(
            "        let Some(&(changed, draws)) = trail.steps.get(step) else {",
            "        let Some(&(changed, draws)) = trail.steps.get(step + 1) else {",
        )],
        [("lib", "a_resumed_run_is_back_where_every_slot_is_the_recorded_ones")],
    ),
    (
        "rejoin-skip-draws",
        "a resumed clustering that came back skips none of the draws its remaining steps would make",
        "src/jets/qantikt/rejoin.rs",
        [(
            "            skip_draws(end.saturating_sub(draws));",
            "            let _ = (end, draws);",
        )],
        [("qantikt", "draws_after_a_resumed_clustering_take_the_whole_reruns_numbers")],
    ),
    (
        "births-own-streams",
        "a world resumed from its draw goes on with uniforms of its own instead of the primal's",
        "src/context.rs",
        [(
            "    let own = std::mem::replace(&mut ctx.rng.primal, place.stream.clone());",
            "    let own = ctx.rng.primal.clone();",
        )],
        [("lib", "resumed_worlds_are_the_flipped_f64_histories")],
    ),
    (
        "births-no-switch",
        "a world resumed from its draw stays on the primal's uniforms past the primal's last draw",
        "src/context.rs",
        [(
            "            if self.rng.draws >= *at {",
            "            if self.rng.draws >= *at && false {",
        )],
        [("lib", "a_history_from_a_place_takes_the_runs_uniforms_then_its_own")],
    ),
    (
        "births-newest-wins",
        "a world opened by a draw replaces the kept one of its direction without the pruning coin",
        "src/jets/qantikt/births.rs",
        [(
            "        let live = S::couple_worlds(&[held, k]);",
            "        let live = k.worlds();",
        )],
        [("qantikt", "estimators_agree_with_the_exact_gradient")],
    ),
    (
        "births-outcome",
        "a world resumed from its draw takes the primal's outcome there",
        "src/jets/qantikt/births.rs",
        [(
            "                outcome: k.value_in_live(w),",
            "                outcome: k.primal_value(),",
        )],
        [("lib", "resumed_worlds_are_the_flipped_f64_histories"),
         ("qantikt", "estimators_agree_with_the_exact_gradient")],
    ),
]


def run(cmd, timeout=TIMEOUT):
    """Runs `cmd` in the copy; returns (exit status or None on timeout, seconds, output)."""
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = os.path.join(WORK, "target")
    env["CARGO_PROFILE_RELEASE_INCREMENTAL"] = "true"
    env["CARGO_PROFILE_RELEASE_DEBUG"] = "0"
    t0 = time.time()
    try:
        p = subprocess.run(
            cmd, cwd=SRC, env=env, capture_output=True, text=True, timeout=timeout
        )
        return p.returncode, time.time() - t0, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(
            errors="replace"
        )
        return None, time.time() - t0, out


def copy_tree():
    if os.path.exists(SRC):
        shutil.rmtree(SRC)
    os.makedirs(SRC)
    with tarfile.open(os.path.join(WORK, "tree.tar"), "w") as tar:
        for name in os.listdir(ROOT):
            if name not in ("target", ".git"):
                tar.add(os.path.join(ROOT, name), arcname=name)
    with tarfile.open(os.path.join(WORK, "tree.tar")) as tar:
        tar.extractall(SRC)
    os.remove(os.path.join(WORK, "tree.tar"))
    # Fresh modification times: the copy keeps the tree's, which may be older than the copy's
    # last (planted) build, and cargo would then take that build for up to date.
    now = time.time()
    for d, _, files in os.walk(SRC):
        for f in files:
            os.utime(os.path.join(d, f), (now, now))


def tests_of(row):
    """The cargo commands running a row's tests (one per test target)."""
    by_target = {}
    for target, name in row[4]:
        by_target.setdefault(target, []).append(name)
    return [
        ["cargo", "test", "--release", *target_args(t), "--", "--test-threads=2", *names]
        for t, names in by_target.items()
    ]


def target_args(target):
    """Cargo's selection of a test target: `lib` is the library's unit tests."""
    return ["--lib"] if target == "lib" else ["--test", target]


def main(argv):
    if "--list" in argv:
        for r in ROWS:
            print(f"{r[0]:24} {r[1]}  [{r[2]}]")
        return 0
    rows = [r for r in ROWS if not argv or r[0] in argv]
    unknown = set(argv) - {r[0] for r in ROWS}
    if unknown:
        print(f"unknown rows: {sorted(unknown)}", file=sys.stderr)
        return 2
    os.makedirs(WORK, exist_ok=True)
    copy_tree()
    print(f"copy of {ROOT} in {SRC}; building (the first build takes a few minutes)")
    targets = sorted({t for r in rows for t, _ in r[4]})
    status, secs, out = run(
        ["cargo", "test", "--release", "--no-run"] + [a for t in targets for a in target_args(t)],
        timeout=BUILD_TIMEOUT,
    )
    if status != 0:
        print(out[-3000:])
        if status is None:
            print(f"the unmutated copy did not finish building in {BUILD_TIMEOUT} s")
        else:
            print("the unmutated copy does not build")
        return 2
    # Without the bug every row's tests pass.
    for r in rows:
        for cmd in tests_of(r):
            status, secs, out = run(cmd)
            if status != 0:
                print(out[-3000:])
                print(f"{r[0]}: the tests fail WITHOUT the planted bug: {' '.join(cmd)}")
                return 2
    print("unmutated: every row's tests pass\n")
    missed = []
    for name, bug, path, edits, tests in rows:
        full = os.path.join(SRC, path)
        text = open(full, encoding="utf-8").read()
        planted = text
        for old, new in edits:
            if planted.count(old) != 1:
                break
            planted = planted.replace(old, new)
        else:
            old = None
        if old is not None:
            print(f"{name}: the original text {old!r} is not found exactly once in {path}: update the row")
            missed.append(name)
            continue
        open(full, "w", encoding="utf-8").write(planted)
        try:
            status, secs, out = run(["cargo", "test", "--release", "--no-run"] + [
                a for t, _ in tests for a in target_args(t)
            ])
            if status != 0:
                print(out[-2000:])
                print(f"{name}: the planted bug does not compile: update the row")
                missed.append(name)
                continue
            verdicts = []
            for cmd in tests_of((name, bug, path, edits, tests)):
                status, secs, out = run(cmd)
                failed = [
                    l.split()[1] for l in out.splitlines() if l.startswith("test ") and l.endswith("FAILED")
                ]
                if status is None:
                    verdicts.append(f"{cmd[4] if cmd[3] == '--test' else 'lib'}: TIMEOUT after {secs:.0f} s (counts as caught)")
                elif status != 0:
                    verdicts.append(f"{cmd[4] if cmd[3] == '--test' else 'lib'}: caught by {', '.join(failed) or 'a failure'} ({secs:.1f} s)")
                    # The first assertion message, to see by how much.
                    lines = out.splitlines()
                    for i, l in enumerate(lines):
                        if "panicked at" in l and i + 1 < len(lines):
                            verdicts.append("    " + lines[i + 1][:300])
                            break
                else:
                    verdicts.append(f"{cmd[4] if cmd[3] == '--test' else 'lib'}: MISSED")
            caught = all("MISSED" not in v for v in verdicts)
            if not caught:
                missed.append(name)
            print(f"{'caught' if caught else 'MISSED'}  {name}: {bug}")
            for v in verdicts:
                print(f"        {v}")
        finally:
            open(full, "w", encoding="utf-8").write(text)
    print()
    if missed:
        print(f"{len(missed)} of {len(rows)} rows not caught: {', '.join(missed)}")
        return 1
    print(f"all {len(rows)} planted bugs caught")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
