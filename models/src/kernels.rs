//! Dense `f32` vector kernels for the hot loops (ALS conjugate gradient, loss, top-K scoring).
//!
//! They are written once over [`pulp::Simd`] and run with the widest instruction set the CPU
//! has (AVX2 + FMA on x86-64 since 2013, NEON on aarch64, a scalar fallback elsewhere), chosen at
//! run time, without `unsafe` in this crate. Callers wrap a whole unit of work (one ALS row, one
//! query) in [`dispatch`] and call [`Kernels`] inside it, so the feature check is paid once per
//! unit and everything inside is compiled for the detected instruction set.
//!
//! Inside dispatched code, use plain loops rather than closures (`map`, `for_each`): a closure is
//! compiled as a function of its own, without the dispatched instruction set, and the SIMD
//! intrinsics would be called instead of inlined.
//!
//! Every reduction combines its partial sums in a fixed order, so results are a deterministic
//! function of the inputs on a given instruction set (a machine with AVX2 and one without may
//! differ in the last bits).

use pulp::{Arch, Simd, WithSimd};

/// Runs `op` with the best SIMD instruction set available.
#[inline(always)]
pub(crate) fn dispatch<Op: WithSimd>(op: Op) -> Op::Output {
    Arch::new().dispatch(op)
}

/// The kernels, for one instruction set `S`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kernels<S: Simd>(pub(crate) S);

impl<S: Simd> Kernels<S> {
    /// Dot product `a · b`.
    ///
    /// # Panics
    ///
    /// Panics if the lengths differ.
    #[inline(always)]
    pub(crate) fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "dot: length mismatch");
        let simd = self.0;
        let (a_head, a_tail) = S::as_simd_f32s(a);
        let (b_head, b_tail) = S::as_simd_f32s(b);
        // Four independent accumulators hide the FMA latency.
        let (a4, a1) = pulp::as_arrays::<4, _>(a_head);
        let (b4, b1) = pulp::as_arrays::<4, _>(b_head);
        let zero = simd.splat_f32s(0.0);
        let [mut acc0, mut acc1, mut acc2, mut acc3] = [zero; 4];
        for ([x0, x1, x2, x3], [y0, y1, y2, y3]) in a4.iter().zip(b4) {
            acc0 = simd.mul_add_e_f32s(*x0, *y0, acc0);
            acc1 = simd.mul_add_e_f32s(*x1, *y1, acc1);
            acc2 = simd.mul_add_e_f32s(*x2, *y2, acc2);
            acc3 = simd.mul_add_e_f32s(*x3, *y3, acc3);
        }
        for (x, y) in a1.iter().zip(b1) {
            acc0 = simd.mul_add_e_f32s(*x, *y, acc0);
        }
        let acc = simd.add_f32s(simd.add_f32s(acc0, acc1), simd.add_f32s(acc2, acc3));
        let mut sum = simd.reduce_sum_f32s(acc);
        for (x, y) in a_tail.iter().zip(b_tail) {
            sum += x * y;
        }
        sum
    }

    /// `y += a * x`.
    ///
    /// # Panics
    ///
    /// Panics if the lengths differ.
    #[inline(always)]
    pub(crate) fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), y.len(), "axpy: length mismatch");
        let simd = self.0;
        let (x_head, x_tail) = S::as_simd_f32s(x);
        let (y_head, y_tail) = S::as_mut_simd_f32s(y);
        let av = simd.splat_f32s(a);
        for (yv, xv) in y_head.iter_mut().zip(x_head) {
            *yv = simd.mul_add_e_f32s(av, *xv, *yv);
        }
        for (yi, xi) in y_tail.iter_mut().zip(x_tail) {
            *yi += a * xi;
        }
    }

    /// `out = m · v` for a symmetric row-major `n x n` matrix `m`.
    ///
    /// Because `m` is symmetric, `m · v = Σ_k v[k] · m[k, :]`: a sum of scaled rows, which needs
    /// no horizontal reduction. Rows are taken four at a time so `out` is loaded and stored once
    /// per four rows rather than once per row.
    ///
    /// # Panics
    ///
    /// Panics if `m.len() != v.len()²` or `out.len() != v.len()`.
    #[inline(always)]
    pub(crate) fn symv(self, m: &[f32], v: &[f32], out: &mut [f32]) {
        let n = v.len();
        assert_eq!(m.len(), n * n, "symv: matrix size mismatch");
        assert_eq!(out.len(), n, "symv: output length mismatch");
        out.fill(0.0);
        if n == 0 {
            return;
        }
        let simd = self.0;
        let (v_quads, v_rest) = v.as_chunks::<4>();
        let (m_quads, m_rest) = m.split_at(v_quads.len() * 4 * n);
        for (rows, vk) in m_quads.chunks_exact(4 * n).zip(v_quads) {
            let (r0, rows) = rows.split_at(n);
            let (r1, rows) = rows.split_at(n);
            let (r2, r3) = rows.split_at(n);
            let (r0h, r0t) = S::as_simd_f32s(r0);
            let (r1h, r1t) = S::as_simd_f32s(r1);
            let (r2h, r2t) = S::as_simd_f32s(r2);
            let (r3h, r3t) = S::as_simd_f32s(r3);
            let (oh, ot) = S::as_mut_simd_f32s(out);
            let (v0, v1) = (simd.splat_f32s(vk[0]), simd.splat_f32s(vk[1]));
            let (v2, v3) = (simd.splat_f32s(vk[2]), simd.splat_f32s(vk[3]));
            for (j, o) in oh.iter_mut().enumerate() {
                let mut acc = simd.mul_add_e_f32s(v0, r0h[j], *o);
                acc = simd.mul_add_e_f32s(v1, r1h[j], acc);
                acc = simd.mul_add_e_f32s(v2, r2h[j], acc);
                *o = simd.mul_add_e_f32s(v3, r3h[j], acc);
            }
            for (j, o) in ot.iter_mut().enumerate() {
                *o += vk[0] * r0t[j] + vk[1] * r1t[j] + vk[2] * r2t[j] + vk[3] * r3t[j];
            }
        }
        for (row, &vk) in m_rest.chunks_exact(n).zip(v_rest) {
            self.axpy(vk, row, out);
        }
    }
}

/// [`Kernels::dot`] as one dispatched call, for code outside the hot loops.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    struct Dot<'a>(&'a [f32], &'a [f32]);
    impl WithSimd for Dot<'_> {
        type Output = f32;
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) -> f32 {
            Kernels(simd).dot(self.0, self.1)
        }
    }
    dispatch(Dot(a, b))
}

/// `out[i] = query · items[i]` for the rows of a row-major `n x d` matrix, `d = query.len()`.
///
/// # Panics
///
/// Panics if `items.len() != out.len() * query.len()`.
pub(crate) fn dot_rows(query: &[f32], items: &[f32], out: &mut [f32]) {
    struct DotRows<'a> {
        query: &'a [f32],
        items: &'a [f32],
        out: &'a mut [f32],
    }
    impl WithSimd for DotRows<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) {
            let k = Kernels(simd);
            let d = self.query.len();
            if d == 0 {
                self.out.fill(0.0);
                return;
            }
            for (o, row) in self.out.iter_mut().zip(self.items.chunks_exact(d)) {
                *o = k.dot(self.query, row);
            }
        }
    }
    assert_eq!(
        items.len(),
        out.len() * query.len(),
        "dot_rows: matrix size mismatch"
    );
    dispatch(DotRows { query, items, out });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }

    /// Runs `check` with the scalar fallback and with the dispatched instruction set, so the
    /// fallback is tested even on machines that never select it.
    fn on_all_archs(check: impl Fn(&dyn Fn(&[f32], &[f32]) -> f32)) {
        check(&|a, b| Kernels(pulp::Scalar).dot(a, b));
        check(&dot);
    }

    #[test]
    fn dot_matches_f64_reference_for_all_tail_lengths() {
        on_all_archs(|dot| {
            for n in 0..80 {
                let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
                let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
                let got = f64::from(dot(&a, &b));
                let want = naive_dot(&a, &b);
                assert!((got - want).abs() < 1e-5, "n={n}: {got} vs {want}");
            }
        });
    }

    #[test]
    fn dot_of_small_integers_is_exact() {
        on_all_archs(|dot| {
            let a: Vec<f32> = (0..37).map(|i| i as f32).collect();
            let b: Vec<f32> = (0..37).map(|i| (i % 5) as f32).collect();
            let want: i64 = (0..37).map(|i: i64| i * (i % 5)).sum();
            assert_eq!(dot(&a, &b), want as f32);
        });
    }

    #[test]
    fn axpy_adds_scaled_vector() {
        let x: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let mut y: Vec<f32> = (0..19).map(|i| 100.0 + i as f32).collect();
        let mut y_scalar = y.clone();
        Kernels(pulp::Scalar).axpy(2.0, &x, &mut y_scalar);
        struct Axpy<'a>(&'a [f32], &'a mut [f32]);
        impl WithSimd for Axpy<'_> {
            type Output = ();
            fn with_simd<S: Simd>(self, simd: S) {
                Kernels(simd).axpy(2.0, self.0, self.1);
            }
        }
        dispatch(Axpy(&x, &mut y));
        let want: Vec<f32> = (0..19).map(|i| 100.0 + 3.0 * i as f32).collect();
        assert_eq!(y, want);
        assert_eq!(y_scalar, want);
    }

    #[test]
    fn symv_matches_row_dot_products_for_all_sizes() {
        struct Symv<'a>(&'a [f32], &'a [f32], &'a mut [f32]);
        impl WithSimd for Symv<'_> {
            type Output = ();
            fn with_simd<S: Simd>(self, simd: S) {
                Kernels(simd).symv(self.0, self.1, self.2);
            }
        }
        for n in 0..21 {
            // A symmetric matrix with small integer entries, so every sum is exact.
            let m: Vec<f32> = (0..n * n)
                .map(|idx| ((idx / n + idx % n) % 7) as f32 - 3.0)
                .collect();
            let v: Vec<f32> = (0..n).map(|i| (i % 5) as f32 - 2.0).collect();
            let want: Vec<f32> = (0..n)
                .map(|r| naive_dot(&m[r * n..(r + 1) * n], &v) as f32)
                .collect();
            let mut out = vec![f32::NAN; n];
            dispatch(Symv(&m, &v, &mut out));
            assert_eq!(out, want, "n={n}");
            let mut out = vec![f32::NAN; n];
            Kernels(pulp::Scalar).symv(&m, &v, &mut out);
            assert_eq!(out, want, "scalar n={n}");
        }
    }

    #[test]
    fn dot_rows_scores_every_row() {
        let items: Vec<f32> = (0..15).map(|i| i as f32).collect();
        let mut out = vec![0.0; 5];
        dot_rows(&[1.0, 0.0, -1.0], &items, &mut out);
        assert_eq!(out, vec![-2.0; 5]);
        let mut empty = vec![f32::NAN; 4];
        dot_rows(&[], &[], &mut empty);
        assert_eq!(empty, vec![0.0; 4]);
    }
}
