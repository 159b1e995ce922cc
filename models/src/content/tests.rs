//! The content encoder against a planted linear map, and its edge cases.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::error::Error;

/// Posts with 1–2 of `topics` topics and 3–8 words of a `words`-word vocabulary.
fn posts(n: usize, topics: usize, words: usize, seed: u64) -> Vec<(Vec<String>, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut ts: Vec<String> = (0..rng.random_range(1..=2))
                .map(|_| format!("topic{}", rng.random_range(0..topics)))
                .collect();
            ts.dedup();
            let text = (0..rng.random_range(3..=8))
                .map(|_| format!("word{}", rng.random_range(0..words)))
                .collect::<Vec<_>>()
                .join(" ");
            (ts, text)
        })
        .collect()
}

fn contents(posts: &[(Vec<String>, String)]) -> Vec<PostContent<'_>> {
    posts
        .iter()
        .map(|(t, x)| PostContent { topics: t, text: x })
        .collect()
}

fn unigram_params(lambdas: Vec<f32>) -> ContentParams {
    ContentParams {
        bigrams: false,
        lambdas,
        ..ContentParams::default()
    }
}

/// `c + x W*` for every post, `x` in the space learned from `train`.
fn planted_targets(
    space: &FeatureSpace,
    posts: &[(Vec<String>, String)],
    w: &Array2<f32>,
    c: &Array1<f32>,
) -> Array2<f32> {
    let mut y = Array2::<f32>::zeros((posts.len(), c.len()));
    for (mut out, (t, x)) in y.rows_mut().into_iter().zip(posts) {
        out.assign(c);
        for (j, v) in space.row(t, x) {
            out.scaled_add(v, &w.row(j as usize));
        }
    }
    y
}

#[test]
fn recovers_a_planted_linear_map() {
    let factors = 5;
    let train = posts(400, 6, 40, 1);
    let params = unigram_params(vec![1e-6]);
    let space = FeatureSpace::learn(
        train.iter().map(|(t, x)| (t.as_slice(), x.as_str())),
        params.buckets,
        params.bigrams,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let w = Array2::from_shape_fn((space.dim(), factors), |_| rng.random_range(-1.0..1.0));
    let c = Array1::from_shape_fn(factors, |_| rng.random_range(-1.0..1.0));
    let y = planted_targets(&space, &train, &w, &c);

    let fit = params
        .check()
        .unwrap()
        .fit(&contents(&train), y.view())
        .unwrap();
    let encoder = &fit.encoder;
    assert_eq!(fit.lambda, 1e-6);
    assert!(fit.selection.is_empty());
    assert_eq!(encoder.factors(), factors);
    assert_eq!(encoder.topics().len(), 6);
    assert_eq!(encoder.idf(), space.idf.as_slice());
    // The weights of the features the posts use, and the intercept, are the planted ones.
    let mut used: Vec<u32> = train
        .iter()
        .flat_map(|(t, x)| space.row(t, x))
        .map(|(j, _)| j)
        .collect();
    used.sort_unstable();
    used.dedup();
    assert_eq!(used.len(), 6 + 40);
    for &j in &used {
        for f in 0..factors {
            let (got, want) = (encoder.weights()[[j as usize, f]], w[[j as usize, f]]);
            assert!((got - want).abs() < 1e-3, "feature {j}: {got} vs {want}");
        }
    }
    for f in 0..factors {
        assert!((encoder.offset()[f] - c[f]).abs() < 1e-3);
    }
    // So posts it has never seen are mapped by the planted map.
    let unseen = posts(50, 6, 40, 3);
    let want = planted_targets(&space, &unseen, &w, &c);
    for ((t, x), want) in unseen.iter().zip(want.rows()) {
        let got = encoder.encode(t, x).unwrap();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-3, "{t:?} {x}: {got:?} vs {want}");
        }
    }
}

/// A world with a planted map plus noise, for the penalty choice.
fn noisy_world(n: usize, seed: u64) -> (Vec<(Vec<String>, String)>, Array2<f32>) {
    let train = posts(n, 8, 60, seed);
    let space = FeatureSpace::learn(
        train.iter().map(|(t, x)| (t.as_slice(), x.as_str())),
        ContentParams::DEFAULT_BUCKETS,
        true,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let w = Array2::from_shape_fn((space.dim(), 4), |_| rng.random_range(-1.0..1.0));
    let c = Array1::from_elem(4, 0.5);
    let mut y = planted_targets(&space, &train, &w, &c);
    y.mapv_inplace(|v| v + rng.random_range(-0.5..0.5));
    (train, y)
}

#[test]
fn chooses_the_penalty_on_held_out_posts_then_refits_on_all() {
    let (train, y) = noisy_world(300, 4);
    let params = ContentParams {
        lambdas: vec![100.0, 1.0, 1e-4],
        ..ContentParams::default()
    };
    let valid = params.check().unwrap();
    let fit = valid.fit(&contents(&train), y.view()).unwrap();
    assert_eq!(fit.validation_posts, 60);
    let grid: Vec<f32> = fit.selection.iter().map(|s| s.lambda).collect();
    assert_eq!(grid, params.lambdas);
    let best = fit
        .selection
        .iter()
        .map(|s| s.validation_cosine)
        .fold(f64::NEG_INFINITY, f64::max);
    let first_best = fit
        .selection
        .iter()
        .find(|s| s.validation_cosine == best)
        .unwrap();
    assert_eq!(fit.lambda, first_best.lambda);
    assert!(fit.selection.iter().all(|s| s.validation_cosine < 1.0));
    assert_eq!(
        fit.encoder,
        valid
            .fit_lambda(&contents(&train), y.view(), fit.lambda)
            .unwrap()
    );
}

#[test]
fn fits_are_deterministic() {
    let (train, y) = noisy_world(200, 5);
    let valid = ContentParams::default().check().unwrap();
    let a = valid.fit(&contents(&train), y.view()).unwrap();
    let b = valid.fit(&contents(&train), y.view()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.selection.len(), ContentParams::DEFAULT_LAMBDAS.len());
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let (t, x) = &train[0];
    assert_eq!(
        bits(a.encoder.encode(t, x).unwrap()),
        bits(b.encoder.encode(t, x).unwrap())
    );
}

/// A fitted encoder on the planted world, and its training posts.
fn fitted() -> (ContentEncoder, Vec<(Vec<String>, String)>) {
    let (train, y) = noisy_world(200, 6);
    let valid = unigram_params(vec![1.0]).check().unwrap();
    let encoder = valid.fit_lambda(&contents(&train), y.view(), 1.0).unwrap();
    (encoder, train)
}

fn topics(v: &[&str]) -> Vec<String> {
    v.iter().map(|t| (*t).to_owned()).collect()
}

#[test]
fn empty_text_encodes_the_topics_alone() {
    let (encoder, _) = fitted();
    let v = encoder.encode(&topics(&["topic3"]), "").unwrap();
    let t = encoder.topics().iter().position(|t| t == "topic3").unwrap();
    let want = &encoder.offset() + &encoder.weights().row(t);
    assert_eq!(v, want.to_vec());
    // Punctuation only is no text either.
    assert_eq!(encoder.encode(&topics(&["topic3"]), " #!? ").unwrap(), v);
    // Nothing known at all: no vector.
    assert_eq!(encoder.encode(&[], ""), None);
}

#[test]
fn unknown_topics_and_words_are_ignored() {
    let (encoder, train) = fitted();
    let (t, x) = &train[0];
    let mut with_unknown = t.clone();
    with_unknown.push("never-seen".to_owned());
    assert_eq!(encoder.encode(&with_unknown, x), encoder.encode(t, x));
    // Unknown words are not features, whatever the case of the known ones.
    let noisy = format!("{} zzyzx-unheard-of", x.to_uppercase());
    assert_eq!(encoder.encode(t, &noisy), encoder.encode(t, x));
    assert_eq!(encoder.encode(&topics(&["never-seen"]), "zzyzx qwxv"), None);
    // Labels are trimmed, and a repeated topic counts once.
    assert_eq!(
        encoder.encode(&topics(&[" topic1 ", "topic1"]), ""),
        encoder.encode(&topics(&["topic1"]), "")
    );
}

#[test]
fn fit_rejects_bad_inputs() {
    let train = posts(10, 3, 10, 7);
    let valid = unigram_params(vec![1.0, 2.0]).check().unwrap();
    let y = Array2::<f32>::zeros((10, 3));
    assert!(matches!(
        valid.fit(&contents(&train[..9]), y.view()),
        Err(Error::LengthMismatch {
            what: "content targets rows",
            expected: 9,
            got: 10
        })
    ));
    assert!(matches!(
        valid.fit(&[], Array2::<f32>::zeros((0, 3)).view()),
        Err(Error::EmptyMatrix { .. })
    ));
    assert!(matches!(
        valid.fit(&contents(&train), Array2::<f32>::zeros((10, 0)).view()),
        Err(Error::EmptyMatrix { .. })
    ));
    let mut bad = y.clone();
    bad[[4, 1]] = f32::NAN;
    assert!(matches!(
        valid.fit(&contents(&train), bad.view()),
        Err(Error::NonFiniteValue { row: 4, col: 1, .. })
    ));
    assert!(matches!(
        valid.fit(&contents(&train[..1]), y.slice(ndarray::s![..1, ..])),
        Err(Error::NotEnoughItems {
            need: 2,
            got: 1,
            ..
        })
    ));
    let empty = vec![(Vec::new(), " ... ".to_owned()); 10];
    assert!(matches!(
        valid.fit(&contents(&empty), y.view()),
        Err(Error::NoContentFeatures)
    ));
    for bad in [0.0, f32::NAN] {
        assert!(matches!(
            valid.fit_lambda(&contents(&train), y.view(), bad),
            Err(Error::InvalidLambda { .. })
        ));
    }
}

#[test]
fn cosine_by_hand() {
    assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-12);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    assert!((cosine(&[2.0, -1.0], &[-4.0, 2.0]) + 1.0).abs() < 1e-12);
}
