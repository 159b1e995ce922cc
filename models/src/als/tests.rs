//! ALS against closed-form oracles: dense normal equations in `f64`, solved by Gaussian
//! elimination (independent of the Cholesky code under test).

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random weights in `[1, 5)` on about `density` of the pairs; user 0 and item 0 are left empty.
fn random_matrix(n_users: usize, n_items: usize, density: f64, seed: u64) -> CsrMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut triplets = Vec::new();
    for u in 1..n_users as u32 {
        for i in 1..n_items as u32 {
            if rng.random_bool(density) {
                triplets.push((u, i, rng.random_range(1.0..5.0f32)));
            }
        }
    }
    CsrMatrix::from_triplets(n_users, n_items, &triplets).unwrap()
}

fn random_factors(n: usize, f: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_fn((n, f), |_| rng.random_range(-0.5..0.5f32))
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
#[allow(clippy::needless_range_loop)] // Index loops read like the textbook algorithm.
fn gauss_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            for k in col..n {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

/// The exact minimiser of `Σ_i c_ui (p_ui - x·y_i)² + λ|x|²` for every user, from the dense
/// confidence and preference matrices.
#[allow(clippy::needless_range_loop)] // Index loops read like the normal equations.
fn closed_form_users(w: &CsrMatrix, items: &Array2<f32>, alpha: f32, reg: f32) -> Vec<Vec<f64>> {
    let (n_items, f) = items.dim();
    let y = |i: usize, k: usize| f64::from(items[[i, k]]);
    (0..w.n_rows())
        .map(|u| {
            let mut c = vec![1.0f64; n_items];
            let mut p = vec![0.0f64; n_items];
            let (cols, vals) = w.row(u);
            for (&i, &v) in cols.iter().zip(vals) {
                c[i as usize] = 1.0 + f64::from(alpha) * f64::from(v);
                p[i as usize] = 1.0;
            }
            let mut a = vec![vec![0.0; f]; f];
            let mut b = vec![0.0; f];
            for i in 0..n_items {
                for j in 0..f {
                    b[j] += c[i] * p[i] * y(i, j);
                    for k in 0..f {
                        a[j][k] += c[i] * y(i, j) * y(i, k);
                    }
                }
            }
            for (j, row) in a.iter_mut().enumerate() {
                row[j] += f64::from(reg);
            }
            gauss_solve(a, b)
        })
        .collect()
}

fn assert_rows_close(got: &Array2<f32>, want: &[Vec<f64>], rel_tol: f64) {
    for (u, want_u) in want.iter().enumerate() {
        let scale = want_u.iter().map(|v| v.abs()).fold(1e-3, f64::max);
        for (k, &w) in want_u.iter().enumerate() {
            let g = f64::from(got[[u, k]]);
            assert!(
                (g - w).abs() <= rel_tol * scale,
                "row {u} factor {k}: {g} vs {w}"
            );
        }
    }
}

const ALPHA: f32 = 2.0;
const REG: f32 = 0.1;

fn update_users(w: &CsrMatrix, items: &Array2<f32>, users: &mut Array2<f32>, solver: Solver) {
    let cm1 = w.map_values(|v| ALPHA * v);
    let gram = gram_f64(items.view());
    solve::update_factors(users, &cm1, items.view(), &gram, REG, solver).unwrap();
}

#[test]
fn exact_user_update_equals_dense_closed_form() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let w = random_matrix(20, 30, 0.2, 12);
    let items = random_factors(30, 6, &mut rng);
    let mut users = random_factors(20, 6, &mut rng);
    update_users(&w, &items, &mut users, Solver::Cholesky);
    assert_rows_close(&users, &closed_form_users(&w, &items, ALPHA, REG), 1e-5);
    // User 0 has no interactions: its exact solution is 0.
    assert!(users.row(0).iter().all(|&v| v == 0.0));
}

#[test]
fn conjugate_gradient_with_enough_steps_converges_to_the_exact_solution() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let w = random_matrix(15, 25, 0.3, 14);
    let items = random_factors(25, 5, &mut rng);
    let mut users = random_factors(15, 5, &mut rng);
    update_users(
        &w,
        &items,
        &mut users,
        Solver::ConjugateGradient { steps: 20 },
    );
    assert_rows_close(&users, &closed_form_users(&w, &items, ALPHA, REG), 1e-4);
}

#[test]
fn few_conjugate_gradient_steps_approach_but_do_not_reach_the_solution() {
    // One step from a poor start is measurably off; more steps get monotonically closer.
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let w = random_matrix(10, 40, 0.3, 16);
    let items = random_factors(40, 8, &mut rng);
    let start = random_factors(10, 8, &mut rng);
    let want = closed_form_users(&w, &items, ALPHA, REG);
    let error = |steps: usize| {
        let mut users = start.clone();
        update_users(&w, &items, &mut users, Solver::ConjugateGradient { steps });
        want.iter()
            .enumerate()
            .flat_map(|(u, row)| {
                let users = &users;
                row.iter()
                    .enumerate()
                    .map(move |(k, v)| (f64::from(users[[u, k]]) - v).powi(2))
            })
            .sum::<f64>()
    };
    let errors: Vec<f64> = [1, 2, 4, 8].into_iter().map(error).collect();
    assert!(errors[0] > 1e-4, "{errors:?}");
    assert!(errors.windows(2).all(|e| e[1] < e[0]), "{errors:?}");
}

fn fit(params: AlsParams, w: &CsrMatrix) -> AlsModel {
    params.check().unwrap().fit(w).unwrap()
}

fn small_params(exact: bool) -> AlsParams {
    AlsParams {
        factors: 8,
        regularization: 0.1,
        alpha: 5.0,
        iterations: 12,
        cg_steps: 3,
        seed: 3,
        exact,
    }
}

fn assert_non_increasing(losses: &[f64]) {
    for (i, pair) in losses.windows(2).enumerate() {
        assert!(
            pair[1] <= pair[0] * (1.0 + 1e-6),
            "loss went up at sweep {}: {losses:?}",
            i + 1
        );
    }
    assert!(losses.last().unwrap() < &losses[0]);
}

#[test]
fn loss_is_non_increasing_with_exact_solves() {
    let w = random_matrix(60, 80, 0.1, 17);
    assert_non_increasing(&fit(small_params(true), &w).loss_history);
}

#[test]
fn loss_is_non_increasing_with_conjugate_gradient() {
    let w = random_matrix(60, 80, 0.1, 18);
    assert_non_increasing(&fit(small_params(false), &w).loss_history);
}

#[test]
fn reported_loss_matches_callback_and_final_factors() {
    let w = random_matrix(30, 40, 0.15, 19);
    let params = small_params(false).check().unwrap();
    let mut seen = Vec::new();
    let model = params.fit_with(&w, &mut |s| seen.push(*s)).unwrap();
    assert_eq!(seen.len(), 12);
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.iteration, i);
        assert_eq!(s.loss, model.loss_history[i]);
    }
    let cm1 = w.map_values(|v| 5.0 * v);
    let recomputed = loss::training_loss(
        &cm1,
        model.user_factors.view(),
        model.item_factors.view(),
        &gram_f64(model.user_factors.view()),
        &gram_f64(model.item_factors.view()),
        0.1,
    );
    assert_eq!(recomputed, *model.loss_history.last().unwrap());
}

#[test]
fn after_a_sweep_items_are_the_exact_solution_for_the_final_users() {
    // The last half-step solves items against the final users, so the fitted item factors are
    // the closed-form solution of the transposed problem.
    let w = random_matrix(25, 20, 0.2, 20);
    let model = fit(
        AlsParams {
            iterations: 2,
            ..small_params(true)
        },
        &w,
    );
    let want = closed_form_users(&w.transpose(), &model.user_factors, 5.0, 0.1);
    assert_rows_close(&model.item_factors, &want, 1e-5);
}

#[test]
fn fit_is_bit_identical_for_a_seed_and_thread_count_independent() {
    let w = random_matrix(80, 70, 0.1, 21);
    let params = small_params(false);
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| fit(params.clone(), &w));
    let three_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap()
        .install(|| fit(params.clone(), &w));
    assert_eq!(one_thread, three_threads);
    assert_eq!(one_thread, fit(params.clone(), &w));

    let other_seed = fit(
        AlsParams {
            seed: 4,
            ..params.clone()
        },
        &w,
    );
    assert_ne!(one_thread.user_factors, other_seed.user_factors);
    assert_ne!(one_thread.loss_history, other_seed.loss_history);
}

#[test]
fn users_and_items_without_interactions_get_zero_vectors() {
    let w = random_matrix(20, 20, 0.2, 22);
    for exact in [false, true] {
        let model = fit(small_params(exact), &w);
        assert!(model.user_factors.row(0).iter().all(|&v| v == 0.0));
        assert!(model.item_factors.row(0).iter().all(|&v| v == 0.0));
        assert!(model.user_factors.iter().all(|v| v.is_finite()));
        assert!(model.item_factors.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn fold_in_equals_the_closed_form_solution() {
    let w = random_matrix(30, 40, 0.15, 23);
    let model = fit(small_params(false), &w);
    let want = closed_form_users(&w, &model.item_factors, 5.0, 0.1);
    for u in [3, 7, 11] {
        let (cols, vals) = w.row(u);
        let got = model.fold_in(cols, vals).unwrap();
        let got = Array2::from_shape_vec((1, got.len()), got.to_vec()).unwrap();
        assert_rows_close(&got, &want[u..=u], 1e-5);

        // The free function with an f32 Gram matrix agrees closely.
        let free = fold_in(
            model.item_factors.view(),
            gram(model.item_factors.view()).view(),
            0.1,
            5.0,
            cols,
            vals,
        )
        .unwrap();
        assert_rows_close(
            &Array2::from_shape_vec((1, free.len()), free.to_vec()).unwrap(),
            &want[u..=u],
            1e-4,
        );
    }
    assert_eq!(
        model.fold_in(&[], &[]).unwrap(),
        Array1::<f32>::zeros(8),
        "no interactions fold in to zero"
    );
}

#[test]
fn fold_in_sums_repeated_items() {
    let w = random_matrix(10, 12, 0.3, 24);
    let model = fit(small_params(true), &w);
    let split = model.fold_in(&[5, 2, 5], &[1.0, 2.0, 3.0]).unwrap();
    let merged = model.fold_in(&[2, 5], &[2.0, 4.0]).unwrap();
    assert_eq!(split, merged);
}

#[test]
fn fold_in_rejects_bad_inputs() {
    let w = random_matrix(10, 12, 0.3, 25);
    let model = fit(small_params(true), &w);
    assert!(matches!(
        model.fold_in(&[1, 2], &[1.0]),
        Err(Error::LengthMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        model.fold_in(&[12], &[1.0]),
        Err(Error::IndexOutOfBounds {
            what: "item",
            index: 12,
            bound: 12
        })
    ));
    for bad in [0.0, -1.0, f32::NAN] {
        assert!(matches!(
            model.fold_in(&[3], &[bad]),
            Err(Error::NonPositiveWeight { col: 3, .. })
        ));
    }
    let y = model.item_factors.view();
    let g = gram(y);
    assert!(matches!(
        fold_in(y, g.view(), -1.0, 1.0, &[1], &[1.0]),
        Err(Error::InvalidRegularization { .. })
    ));
    assert!(matches!(
        fold_in(y, g.view(), 0.1, f32::INFINITY, &[1], &[1.0]),
        Err(Error::InvalidAlpha { .. })
    ));
    let small = Array2::<f32>::zeros((3, 8));
    assert!(matches!(
        fold_in(y, small.view(), 0.1, 1.0, &[1], &[1.0]),
        Err(Error::DimensionMismatch {
            what: "gram rows",
            expected: 8,
            got: 3
        })
    ));
}

#[test]
fn fit_rejects_empty_matrices() {
    let params = small_params(false).check().unwrap();
    for (rows, cols) in [(0, 5), (5, 0)] {
        let w = CsrMatrix::from_triplets(rows, cols, &[]).unwrap();
        assert!(matches!(params.fit(&w), Err(Error::EmptyMatrix { .. })));
    }
}

#[test]
fn fit_rejects_non_positive_weights() {
    let params = small_params(false).check().unwrap();
    for bad in [0.0, -2.0] {
        let w = CsrMatrix::from_triplets(3, 3, &[(0, 0, 1.0), (2, 1, bad)]).unwrap();
        assert!(matches!(
            params.fit(&w),
            Err(Error::NonPositiveWeight { row: 2, col: 1, .. })
        ));
    }
}

#[test]
fn fit_rejects_confidence_overflow() {
    let params = AlsParams {
        alpha: 1e30,
        ..small_params(false)
    };
    let w = CsrMatrix::from_triplets(2, 2, &[(1, 1, 1e10)]).unwrap();
    assert!(matches!(
        params.check().unwrap().fit(&w),
        Err(Error::NonFiniteValue {
            what: "alpha * weight",
            row: 1,
            col: 1,
            ..
        })
    ));
}

#[test]
fn exact_fit_without_regularization_reports_singular_systems() {
    // Two items cannot span 4 factors: with λ = 0 every user's system is singular.
    let w = CsrMatrix::from_triplets(3, 2, &[(0, 0, 1.0), (1, 1, 1.0), (2, 0, 1.0)]).unwrap();
    let params = AlsParams {
        factors: 4,
        regularization: 0.0,
        exact: true,
        ..small_params(true)
    };
    assert!(matches!(
        params.check().unwrap().fit(&w),
        Err(Error::NotPositiveDefinite { .. })
    ));
}
