//! The promotion gate: whether a run's model may replace the published one.
//!
//! Both the candidate and the version `current` names are scored on the same **recent holdout**:
//! the test interactions of this run's split (which the candidate never trained on) whose
//! timestamp is at most [`GateConfig::window_secs`] before the newest timestamp of the data. When
//! that window holds fewer than [`GateConfig::min_users`] users, the whole test split is used
//! instead, and the decision says so. With [`GateConfig::max_users`] set, a seeded uniform sample of
//! the holdout's users is scored instead of all of them (the nightly profile's bound on the cost of
//! two exact rankings of the catalog per user), and the decision says that too.
//!
//! Both models rank this run's catalog for every holdout user with the exact top K of
//! [`models::topk`] (the ordering of [`models::topk::top_k_by`], as in the evaluator), without the
//! user's train items of this run, and are scored with NDCG@K of [`crate::metrics`]. A published
//! model speaks raw ids: they are mapped by string onto this run's ids, so an item it does not
//! know cannot be recommended by it (and an item of its own that this run's catalog lacks is not
//! ranked), and a holdout user it does not know gets its popularity order, as a cold user would.
//! The candidate goes through exactly the same code, with ids that map onto themselves.
//!
//! The candidate is accepted iff
//!
//! - its NDCG@K >= the current version's NDCG@K × (1 − [`GateConfig::ndcg_tolerance`]) (a relative
//!   tolerance: 0.02 lets it be at most 2 % worse), and
//! - the recall@K of its index against exact search (the run's
//!   [`AnnMeasurement::recall`](crate::index::AnnMeasurement)) is at least
//!   [`GateConfig::min_index_recall`].
//!
//! The first condition holds trivially when nothing is published yet, or when the current
//! version cannot be loaded (the reason names the problem, by file name). The second always
//! applies: it is the candidate's own quality, not a comparison, and an index that misses the
//! true top items is not served even as the first model. Every rejection names each failed
//! condition with its figures. With the gate disabled the decision is still computed and
//! recorded, with `accepted: true` and `enforced: false`.

use std::collections::HashMap;
use std::path::Path;

use models::artifact::{Artifact, GateDecision, GateHoldout};
use models::popular::MostPopular;
use models::topk::top_k_dot_many;
use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::evaluate::Rankings;
use crate::index_map::IdMap;
use crate::interactions::Interactions;
use crate::metrics;

/// The promotion gate's settings.
///
/// `Default` gives: enabled, a window of 86,400 s (the last day), at least 50 users in it, a
/// relative NDCG tolerance of 0.02, an index recall of at least 0.95, and every holdout user
/// scored (a sample, when drawn, with seed 42).
#[derive(Clone, Debug, PartialEq)]
pub struct GateConfig {
    /// Enforce the decision (default `true`). When `false` the decision is still computed and
    /// recorded, but every candidate is published.
    pub enabled: bool,
    /// The holdout is the test interactions at most this many seconds before the newest
    /// interaction of the data (default 86,400: the last day). At least 1.
    pub window_secs: u64,
    /// Fewest users the window must hold; with fewer, the whole test split is the holdout
    /// (default 50). At least 1.
    pub min_users: usize,
    /// How much worse, relatively, the candidate's NDCG@K may be than the current version's
    /// (default 0.02: at least 98 % of it). In `[0, 1)`.
    pub ndcg_tolerance: f64,
    /// The least recall@K of the candidate's index against exact search (default 0.95). In
    /// `[0, 1]`.
    pub min_index_recall: f64,
    /// Score at most this many of the holdout's users, a uniform sample drawn with the run's
    /// seed ([`GateInput::seed`]; default `None`: every one). At least 1.
    pub max_users: Option<usize>,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 86_400,
            min_users: 50,
            ndcg_tolerance: 0.02,
            min_index_recall: 0.95,
            max_users: None,
        }
    }
}

impl GateConfig {
    /// Checks every setting (also when the gate is disabled: the decision is still computed).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the field: `gate.window_secs`, `gate.min_users` or
    /// `gate.max_users` of 0,
    /// a `gate.ndcg_tolerance` outside `[0, 1)` or a `gate.min_index_recall` outside `[0, 1]`
    /// (NaN included).
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &'static str, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.window_secs == 0 {
            return invalid("gate.window_secs", "must be at least 1");
        }
        if self.min_users == 0 {
            return invalid("gate.min_users", "must be at least 1");
        }
        if self.max_users == Some(0) {
            return invalid("gate.max_users", "must be at least 1");
        }
        if !(self.ndcg_tolerance >= 0.0 && self.ndcg_tolerance < 1.0) {
            return invalid(
                "gate.ndcg_tolerance",
                &format!("must be in [0, 1), got {}", self.ndcg_tolerance),
            );
        }
        if !(0.0..=1.0).contains(&self.min_index_recall) {
            return invalid(
                "gate.min_index_recall",
                &format!("must be in [0, 1], got {}", self.min_index_recall),
            );
        }
        Ok(())
    }
}

/// The recent holdout both models are scored on.
#[derive(Clone, Debug, PartialEq)]
pub struct Holdout {
    /// Each run user's held-out items inside the holdout, sorted (empty: the user is not scored).
    pub relevant: Vec<Vec<u32>>,
    /// Users the window held (equal to `info.users` unless the whole test split was used).
    pub window_users: usize,
    /// The fewest users the window had to hold ([`GateConfig::min_users`]).
    pub min_users: usize,
    /// What the decision records about it.
    pub info: GateHoldout,
}

/// Cuts the holdout out of `test` (see the module docs); `train` only contributes to the newest
/// timestamp of the data.
pub fn holdout(
    train: &Interactions,
    test: &Interactions,
    n_users: usize,
    config: &GateConfig,
    seed: u64,
) -> Holdout {
    let newest = train
        .timestamp
        .iter()
        .chain(&test.timestamp)
        .copied()
        .max()
        .unwrap_or(0);
    let window = i64::try_from(config.window_secs).unwrap_or(i64::MAX);
    let from = newest.saturating_sub(window);
    let in_window: Vec<usize> = (0..test.len())
        .filter(|&i| test.timestamp[i] >= from)
        .collect();
    let distinct = |rows: &[usize]| {
        let mut users: Vec<u32> = rows.iter().map(|&i| test.user[i]).collect();
        users.sort_unstable();
        users.dedup();
        users.len()
    };
    let window_users = distinct(&in_window);
    let whole_test_split = window_users < config.min_users;
    let rows = if whole_test_split {
        (0..test.len()).collect()
    } else {
        in_window
    };
    let mut relevant = vec![Vec::new(); n_users];
    for &i in &rows {
        relevant[test.user[i] as usize].push(test.item[i]);
    }
    for list in &mut relevant {
        list.sort_unstable();
        list.dedup();
    }
    let sampled_from = config
        .max_users
        .and_then(|max| crate::index::retain_sample(&mut relevant, max, seed))
        .map(|sample| sample.eligible_users);
    let rows: Vec<usize> = if sampled_from.is_some() {
        rows.into_iter()
            .filter(|&i| !relevant[test.user[i] as usize].is_empty())
            .collect()
    } else {
        rows
    };
    Holdout {
        window_users,
        min_users: config.min_users,
        info: GateHoldout {
            window_secs: config.window_secs,
            from_timestamp: rows
                .iter()
                .map(|&i| test.timestamp[i])
                .min()
                .unwrap_or(from),
            users: distinct(&rows),
            interactions: rows.len(),
            whole_test_split,
            sampled_from,
        },
        relevant,
    }
}

/// A model as the gate sees it, in its own ids: the candidate (this run's ids) or a published
/// version.
#[derive(Clone, Copy, Debug)]
pub struct GateModel<'a> {
    /// Raw user ids, in the model's user order.
    pub user_ids: &'a [String],
    /// Raw item ids, in the model's item order.
    pub item_ids: &'a [String],
    /// `users x factors`.
    pub user_factors: ArrayView2<'a, f32>,
    /// `items x factors`.
    pub item_factors: ArrayView2<'a, f32>,
    /// Training interactions per item: the order a user the model does not know gets.
    pub popularity: &'a [u32],
}

impl<'a> GateModel<'a> {
    /// The view of a loaded version.
    pub fn of_artifact(artifact: &'a Artifact) -> Self {
        Self {
            user_ids: &artifact.user_ids,
            item_ids: &artifact.item_ids,
            user_factors: artifact.user_factors.view(),
            item_factors: artifact.item_factors.view(),
            popularity: &artifact.popularity,
        }
    }
}

/// This run's side of the comparison: its ids, its train items and the holdout.
#[derive(Clone, Copy, Debug)]
pub struct RunView<'a> {
    /// This run's users.
    pub users: &'a IdMap,
    /// This run's catalog.
    pub items: &'a IdMap,
    /// Each run user's train items, sorted: never recommended.
    pub train_items: &'a [Vec<u32>],
    /// The holdout.
    pub holdout: &'a Holdout,
}

/// Ranks this run's catalog with `model` for every holdout user: the top `k` in this run's
/// item indices (see the module docs for unknown ids).
pub fn rank(model: &GateModel<'_>, run: &RunView<'_>, k: usize) -> Rankings {
    let own_users: HashMap<&str, usize> = model
        .user_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let own_items: HashMap<&str, u32> = model
        .item_ids
        .iter()
        .zip(0u32..)
        .map(|(id, i)| (id.as_str(), i))
        .collect();
    // Run item → the model's index, and the model's items this run's catalog lacks.
    let to_own: Vec<Option<u32>> = run
        .items
        .ids()
        .iter()
        .map(|id| own_items.get(id.as_str()).copied())
        .collect();
    let to_run: Vec<Option<u32>> = model
        .item_ids
        .iter()
        .map(|id| run.items.index(id))
        .collect();
    let foreign: Vec<u32> = (0u32..)
        .zip(&to_run)
        .filter_map(|(j, r)| r.is_none().then_some(j))
        .collect();
    let popular = MostPopular::from_counts(model.popularity.to_vec());
    let relevant = &run.holdout.relevant;
    // Each holdout user's exclusions (in the model's item indices) and row of the model, if any.
    let users: Vec<(usize, Vec<u32>, Option<usize>)> = (0..relevant.len())
        .into_par_iter()
        .filter(|&u| !relevant[u].is_empty())
        .map(|u| {
            let train = run.train_items.get(u).map_or(&[][..], Vec::as_slice);
            let mut exclude: Vec<u32> = train
                .iter()
                .filter_map(|&i| to_own.get(i as usize).copied().flatten())
                .chain(foreign.iter().copied())
                .collect();
            exclude.sort_unstable();
            let own_user = u32::try_from(u)
                .ok()
                .and_then(|u| own_users.get(run.users.id(u)).copied())
                .filter(|&row| row < model.user_factors.nrows());
            (u, exclude, own_user)
        })
        .collect();
    let to_run_items = |scored: Vec<models::topk::Scored>| -> Vec<u32> {
        scored
            .into_iter()
            .filter_map(|s| to_run.get(s.item as usize).copied().flatten())
            .collect()
    };
    let (known, cold): (Vec<_>, Vec<_>) = users.iter().partition(|(_, _, row)| row.is_some());
    let mut rankings: Rankings = vec![None; relevant.len()];
    let ranked: Vec<(usize, Vec<u32>)> = known
        .par_chunks(crate::evaluate::QUERY_BLOCK)
        .flat_map_iter(|block| {
            let rows: Vec<usize> = block.iter().filter_map(|(_, _, row)| *row).collect();
            let queries = model.user_factors.select(ndarray::Axis(0), &rows);
            let excludes: Vec<&[u32]> = block.iter().map(|(_, e, _)| e.as_slice()).collect();
            let lists = top_k_dot_many(queries.view(), model.item_factors, k, &excludes);
            block
                .iter()
                .zip(lists)
                .map(|((u, _, _), list)| (*u, to_run_items(list)))
                .collect::<Vec<_>>()
        })
        .chain(
            cold.par_iter()
                .map(|(u, exclude, _)| (*u, to_run_items(popular.recommend(k, exclude)))),
        )
        .collect();
    for (u, list) in ranked {
        rankings[u] = Some(list);
    }
    rankings
}

/// `model`'s mean NDCG@`k` over the holdout users ([`metrics::summarize`] on [`rank`]).
pub fn ndcg(model: &GateModel<'_>, run: &RunView<'_>, k: usize) -> f64 {
    let rankings = rank(model, run, k);
    metrics::summarize(&rankings, &run.holdout.relevant, k, run.items.len()).ndcg
}

/// What the candidate is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Current {
    /// Nothing is published yet.
    Nothing,
    /// The current version could not be loaded.
    Unloadable {
        /// Its name, when the pointer could be read.
        version: Option<String>,
        /// Why, briefly (file names, no paths).
        problem: String,
    },
    /// The current version, scored on the holdout.
    Scored {
        /// Its name.
        version: String,
        /// Its NDCG@K.
        ndcg: f64,
    },
}

/// `1 user`, `2 users`.
fn users(n: usize) -> String {
    format!("{n} user{}", if n == 1 { "" } else { "s" })
}

/// `0.98` as `98 %`, `0.985` as `98.5 %`.
fn percent(x: f64) -> String {
    let text = format!("{:.1}", 100.0 * x);
    format!("{} %", text.strip_suffix(".0").unwrap_or(&text))
}

/// The decision from the figures (see the module docs).
pub fn decide(
    config: &GateConfig,
    k: usize,
    candidate_ndcg: f64,
    current: &Current,
    index_recall: f64,
    holdout: &Holdout,
) -> GateDecision {
    let h = &holdout.info;
    let scope = if h.whole_test_split {
        format!(
            "on the whole test split ({} users, {} interactions): the last {} s held {}, fewer \
             than {}",
            h.users,
            h.interactions,
            h.window_secs,
            users(holdout.window_users),
            holdout.min_users
        )
    } else {
        format!(
            "on the last {} s of the test split ({} users, {} interactions)",
            h.window_secs, h.users, h.interactions
        )
    };
    let scope = match h.sampled_from {
        Some(held) => format!("{scope}, a seeded sample of the {held} users it held"),
        None => scope,
    };
    let recall_ok = index_recall >= config.min_index_recall;
    let recall_text = format!(
        "index recall@{k} {index_recall:.4} {} {}",
        if recall_ok { ">=" } else { "is below" },
        config.min_index_recall
    );
    let (ndcg_ok, ndcg_text, current_version, current_ndcg) = match current {
        Current::Nothing => (
            true,
            format!("first model (nothing is published yet); NDCG@{k} {candidate_ndcg:.4}"),
            None,
            None,
        ),
        Current::Unloadable { version, problem } => (
            true,
            format!(
                "the current version{} cannot be loaded ({problem}), so there is nothing to \
                 compare with; NDCG@{k} {candidate_ndcg:.4}",
                version
                    .as_ref()
                    .map_or_else(String::new, |v| format!(" {v}"))
            ),
            version.clone(),
            None,
        ),
        Current::Scored { version, ndcg } => {
            let needed = ndcg * (1.0 - config.ndcg_tolerance);
            let ok = candidate_ndcg >= needed;
            let text = format!(
                "NDCG@{k} {candidate_ndcg:.4} {} {needed:.4} ({} of the current version {version}'s \
                 {ndcg:.4})",
                if ok { ">=" } else { "is below" },
                percent(1.0 - config.ndcg_tolerance),
            );
            (ok, text, Some(version.clone()), Some(*ndcg))
        }
    };
    let accepted = ndcg_ok && recall_ok;
    let verdict = if accepted {
        format!("{ndcg_text}, {recall_text}, {scope}")
    } else {
        let failed: Vec<&str> = [(ndcg_ok, &ndcg_text), (recall_ok, &recall_text)]
            .into_iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, text)| text.as_str())
            .collect();
        format!("{}, {scope}", failed.join("; "))
    };
    let reason = if config.enabled {
        verdict
    } else {
        format!(
            "the gate is disabled, so it was not enforced; it would have {}: {verdict}",
            if accepted { "accepted" } else { "rejected" }
        )
    };
    GateDecision {
        accepted: accepted || !config.enabled,
        reason,
        current_version,
        candidate_ndcg: Some(candidate_ndcg),
        current_ndcg,
        ndcg_tolerance: config.ndcg_tolerance,
        index_recall,
        min_index_recall: config.min_index_recall,
        holdout: Some(holdout.info.clone()),
        enforced: config.enabled,
    }
}

/// Everything [`evaluate`] needs from the run.
#[derive(Clone, Copy, Debug)]
pub struct GateInput<'a> {
    /// The settings.
    pub config: &'a GateConfig,
    /// The cut-off K.
    pub k: usize,
    /// This run's users.
    pub users: &'a IdMap,
    /// This run's catalog.
    pub items: &'a IdMap,
    /// The train part (for the newest timestamp).
    pub train: &'a Interactions,
    /// The test part (the holdout comes from it).
    pub test: &'a Interactions,
    /// Each run user's train items, sorted.
    pub train_items: &'a [Vec<u32>],
    /// The candidate, in this run's ids.
    pub candidate: GateModel<'a>,
    /// The candidate index's recall@K against exact search.
    pub index_recall: f64,
    /// The run's seed: it draws the holdout's sample of users when [`GateConfig::max_users`]
    /// asks for one (the evaluation draws its own sample with the same seed).
    pub seed: u64,
}

/// Scores the candidate and the version `current` names in `models_dir` on the holdout and
/// decides. Never fails: a current version that cannot be loaded is a reason, not an error.
pub fn evaluate(models_dir: &Path, input: &GateInput<'_>) -> GateDecision {
    let holdout = holdout(
        input.train,
        input.test,
        input.users.len(),
        input.config,
        input.seed,
    );
    let run = RunView {
        users: input.users,
        items: input.items,
        train_items: input.train_items,
        holdout: &holdout,
    };
    let candidate_ndcg = ndcg(&input.candidate, &run, input.k);
    let current = match models::artifact::current_version(models_dir) {
        Ok(None) => Current::Nothing,
        Ok(Some(version)) => match Artifact::load(&models_dir.join(&version)) {
            Ok(artifact) => Current::Scored {
                ndcg: ndcg(&GateModel::of_artifact(&artifact), &run, input.k),
                version,
            },
            Err(e) => {
                tracing::warn!(version, error = %e, "the current model cannot be loaded by the gate");
                Current::Unloadable {
                    version: Some(version),
                    problem: models::artifact::describe(&e),
                }
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "the current model pointer cannot be read by the gate");
            Current::Unloadable {
                version: None,
                problem: models::artifact::describe(&e),
            }
        }
    };
    decide(
        input.config,
        input.k,
        candidate_ndcg,
        &current,
        input.index_recall,
        &holdout,
    )
}

/// The decision as the `gate.json` extra file (pretty JSON and a newline).
///
/// # Errors
///
/// [`Error::Json`] if it cannot be serialised.
pub fn file(decision: &GateDecision) -> Result<(String, Vec<u8>)> {
    let mut json = serde_json::to_vec_pretty(decision)?;
    json.push(b'\n');
    Ok((models::artifact::GATE_FILE.to_owned(), json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// 1 / log2(3): one hit at rank 2 of one relevant item.
    fn rank2() -> f64 {
        1.0 / 3f64.log2()
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Two users, four items `a b c d`; u1 trained on `a` and holds out `c`, u2 trained on `b`
    /// and holds out `d`.
    fn run_data() -> (IdMap, IdMap, Interactions, Interactions) {
        let users = IdMap::from_ids(["u1", "u2"]);
        let items = IdMap::from_ids(["a", "b", "c", "d"]);
        let train = Interactions::from_columns(vec![0, 1], vec![0, 1], vec![10, 20], vec![1.0; 2]);
        let test = Interactions::from_columns(vec![0, 1], vec![2, 3], vec![100, 200], vec![1.0; 2]);
        (users, items, train, test)
    }

    fn config(window_secs: u64, min_users: usize) -> GateConfig {
        GateConfig {
            window_secs,
            min_users,
            ..GateConfig::default()
        }
    }

    #[test]
    fn both_models_scored_by_hand() {
        let (users, items, train, test) = run_data();
        let holdout = holdout(&train, &test, 2, &config(1000, 1), 42);
        assert_eq!(holdout.relevant, vec![vec![2], vec![3]]);
        let train_items = train.items_by_user(2);
        let run = RunView {
            users: &users,
            items: &items,
            train_items: &train_items,
            holdout: &holdout,
        };
        // The candidate, in the run's own ids. u1 = (1, 0) scores the items' first coordinate:
        // a 9 (its train item), b 3, c 2, d 1, so it ranks b, c: its held-out c at rank 2.
        // u2 = (0, 1): a 4, b 9 (train), c 1, d 2, so a, d: its held-out d at rank 2.
        let (user_ids, item_ids) = (ids(&["u1", "u2"]), ids(&["a", "b", "c", "d"]));
        let (cu, ci) = (
            array![[1.0f32, 0.0], [0.0, 1.0]],
            array![[9.0f32, 4.0], [3.0, 9.0], [2.0, 1.0], [1.0, 2.0]],
        );
        let candidate = GateModel {
            user_ids: &user_ids,
            item_ids: &item_ids,
            user_factors: cu.view(),
            item_factors: ci.view(),
            popularity: &[0, 0, 0, 0],
        };
        assert_eq!(
            rank(&candidate, &run, 2),
            vec![Some(vec![1, 2]), Some(vec![0, 3])]
        );
        assert!((ndcg(&candidate, &run, 2) - rank2()).abs() < 1e-12);
        assert_eq!(ndcg(&candidate, &run, 1), 0.0);

        // A published model in its own ids: it does not know u1 nor b, and knows z, which this
        // run's catalog lacks. u2 = (1, 0): a 1, c 2, d 3 (z 10 is not in the catalog), so d, c:
        // NDCG 1. u1 gets the popularity order without its train item a and without z: d (5),
        // c (1), so its held-out c at rank 2.
        let (cu, ci) = (
            array![[1.0f32, 0.0], [0.0, 1.0]],
            array![[1.0f32, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0]],
        );
        let (user_ids, item_ids) = (ids(&["u2", "u9"]), ids(&["a", "c", "d", "z"]));
        let current = GateModel {
            user_ids: &user_ids,
            item_ids: &item_ids,
            user_factors: cu.view(),
            item_factors: ci.view(),
            popularity: &[100, 1, 5, 50],
        };
        assert_eq!(
            rank(&current, &run, 2),
            vec![Some(vec![3, 2]), Some(vec![3, 2])]
        );
        assert!((ndcg(&current, &run, 2) - (1.0 + rank2()) / 2.0).abs() < 1e-12);
        // At K = 1 u1 gets d (a miss) and u2 gets d (a hit).
        assert!((ndcg(&current, &run, 1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn holdout_is_the_window_unless_it_holds_too_few_users() {
        let (_, _, train, test) = run_data();
        // The newest timestamp is 200: a window of 100 starts at 100 and holds both.
        let h = holdout(&train, &test, 2, &config(100, 2), 42);
        assert_eq!(h.relevant, vec![vec![2], vec![3]]);
        assert_eq!(
            h.info,
            GateHoldout {
                window_secs: 100,
                from_timestamp: 100,
                users: 2,
                interactions: 2,
                whole_test_split: false,
                sampled_from: None,
            }
        );
        // 99 s start at 101: only u2's interaction.
        let h = holdout(&train, &test, 2, &config(99, 1), 42);
        assert_eq!(h.relevant, vec![vec![], vec![3]]);
        assert_eq!((h.info.users, h.info.from_timestamp), (1, 200));
        assert!(!h.info.whole_test_split);
        // One user is fewer than two: the whole test split.
        let h = holdout(&train, &test, 2, &config(99, 2), 42);
        assert_eq!(h.relevant, vec![vec![2], vec![3]]);
        assert_eq!(h.window_users, 1);
        assert!(h.info.whole_test_split);
        assert_eq!((h.info.users, h.info.interactions), (2, 2));
    }

    #[test]
    fn a_sample_scores_a_seeded_subset_of_the_holdout_users_and_says_so() {
        // 40 users, one held-out item each, all in the window.
        let n = 40u32;
        let train = Interactions::from_columns(
            (0..n).collect(),
            vec![0; n as usize],
            vec![10; n as usize],
            vec![1.0; n as usize],
        );
        let test = Interactions::from_columns(
            (0..n).collect(),
            (0..n).map(|u| 1 + u % 3).collect(),
            vec![100; n as usize],
            vec![1.0; n as usize],
        );
        let whole = holdout(&train, &test, n as usize, &config(1000, 1), 42);
        assert_eq!(whole.info.sampled_from, None);
        let sampled_config = GateConfig {
            max_users: Some(15),
            ..config(1000, 1)
        };
        let h = holdout(&train, &test, n as usize, &sampled_config, 42);
        assert_eq!(h.info.sampled_from, Some(40));
        assert_eq!((h.info.users, h.info.interactions), (15, 15));
        assert_eq!(h.relevant.iter().filter(|r| !r.is_empty()).count(), 15);
        for (s, w) in h.relevant.iter().zip(&whole.relevant) {
            assert!(s.is_empty() || s == w, "a sampled user keeps its own items");
        }
        assert_eq!(h, holdout(&train, &test, n as usize, &sampled_config, 42));
        assert_ne!(
            h.relevant,
            holdout(&train, &test, n as usize, &sampled_config, 43).relevant
        );
        // Room for everyone: no sample.
        let roomy = GateConfig {
            max_users: Some(40),
            ..sampled_config
        };
        assert_eq!(holdout(&train, &test, n as usize, &roomy, 42), whole);
        let d = decide(&GateConfig::default(), 10, 0.3, &Current::Nothing, 0.97, &h);
        assert!(
            d.reason
                .ends_with("a seeded sample of the 40 users it held"),
            "{}",
            d.reason
        );
        assert!(matches!(
            GateConfig {
                max_users: Some(0),
                ..GateConfig::default()
            }
            .validate(),
            Err(Error::InvalidConfig {
                field: "gate.max_users",
                ..
            })
        ));
    }

    fn window_holdout() -> Holdout {
        let (_, _, train, test) = run_data();
        holdout(&train, &test, 2, &config(100, 2), 42)
    }

    #[test]
    fn accepts_within_the_relative_tolerance() {
        let c = GateConfig::default();
        let current = Current::Scored {
            version: "v1".into(),
            ndcg: 0.5,
        };
        // 98 % of 0.5 is 0.49.
        let d = decide(&c, 10, 0.4901, &current, 0.97, &window_holdout());
        assert!(d.accepted && d.enforced, "{d:?}");
        assert_eq!(d.current_version.as_deref(), Some("v1"));
        assert_eq!(
            (d.candidate_ndcg, d.current_ndcg),
            (Some(0.4901), Some(0.5))
        );
        assert_eq!(
            d.reason,
            "NDCG@10 0.4901 >= 0.4900 (98 % of the current version v1's 0.5000), index recall@10 \
             0.9700 >= 0.95, on the last 100 s of the test split (2 users, 2 interactions)"
        );
    }

    #[test]
    fn rejects_a_worse_model_and_a_poor_index_with_the_figures() {
        let c = GateConfig::default();
        let current = Current::Scored {
            version: "v1".into(),
            ndcg: 0.5,
        };
        let d = decide(&c, 10, 0.4, &current, 0.97, &window_holdout());
        assert!(!d.accepted && d.enforced);
        assert!(
            d.reason.starts_with(
                "NDCG@10 0.4000 is below 0.4900 (98 % of the current version v1's 0.5000), on"
            ),
            "{}",
            d.reason
        );
        let d = decide(&c, 10, 0.6, &current, 0.9, &window_holdout());
        assert!(!d.accepted);
        assert!(
            d.reason
                .starts_with("index recall@10 0.9000 is below 0.95, on"),
            "{}",
            d.reason
        );
        let d = decide(&c, 10, 0.1, &current, 0.9, &window_holdout());
        assert!(
            d.reason
                .contains("0.5000); index recall@10 0.9000 is below 0.95"),
            "{}",
            d.reason
        );
        // The index condition applies to a first model too.
        let d = decide(&c, 10, 0.1, &Current::Nothing, 0.9, &window_holdout());
        assert!(!d.accepted);
        assert!(d.reason.starts_with("index recall@10 0.9000 is below 0.95"));
    }

    #[test]
    fn first_and_unloadable_models_are_accepted_with_the_reason() {
        let c = GateConfig::default();
        let whole = {
            let (_, _, train, test) = run_data();
            holdout(&train, &test, 2, &config(99, 2), 42)
        };
        let d = decide(&c, 10, 0.3, &Current::Nothing, 1.0, &whole);
        assert!(d.accepted);
        assert_eq!((d.current_version, d.current_ndcg), (None, None));
        assert_eq!(
            d.reason,
            "first model (nothing is published yet); NDCG@10 0.3000, index recall@10 1.0000 >= \
             0.95, on the whole test split (2 users, 2 interactions): the last 99 s held 1 \
             user, fewer than 2"
        );
        let broken = Current::Unloadable {
            version: Some("v1".into()),
            problem: "item_factors.npy fails its checksum".into(),
        };
        let d = decide(&c, 10, 0.3, &broken, 1.0, &whole);
        assert!(d.accepted);
        assert_eq!(d.current_version.as_deref(), Some("v1"));
        assert!(
            d.reason.starts_with(
                "the current version v1 cannot be loaded (item_factors.npy fails its checksum), \
                 so there is nothing to compare with"
            ),
            "{}",
            d.reason
        );
    }

    #[test]
    fn a_disabled_gate_records_but_does_not_enforce() {
        let c = GateConfig {
            enabled: false,
            ..GateConfig::default()
        };
        let current = Current::Scored {
            version: "v1".into(),
            ndcg: 0.5,
        };
        let d = decide(&c, 10, 0.1, &current, 0.97, &window_holdout());
        assert!(d.accepted && !d.enforced);
        assert!(
            d.reason.starts_with(
                "the gate is disabled, so it was not enforced; it would have rejected: NDCG@10"
            ),
            "{}",
            d.reason
        );
    }

    #[test]
    fn evaluate_without_a_readable_current_version_never_fails() {
        let (users, items, train, test) = run_data();
        let train_items = train.items_by_user(2);
        let (cu, ci) = (
            array![[1.0f32, 0.0], [0.0, 1.0]],
            array![[9.0f32, 4.0], [3.0, 9.0], [2.0, 1.0], [1.0, 2.0]],
        );
        let gate = config(1000, 1);
        let input = GateInput {
            config: &gate,
            k: 2,
            users: &users,
            items: &items,
            train: &train,
            test: &test,
            train_items: &train_items,
            candidate: GateModel {
                user_ids: users.ids(),
                item_ids: items.ids(),
                user_factors: cu.view(),
                item_factors: ci.view(),
                popularity: &[1, 1, 0, 0],
            },
            index_recall: 1.0,
            seed: 42,
        };
        let dir = tempfile::tempdir().unwrap();
        let d = evaluate(dir.path(), &input);
        assert!(d.accepted);
        assert!(d.reason.starts_with("first model"), "{}", d.reason);
        assert!((d.candidate_ndcg.unwrap() - rank2()).abs() < 1e-12);
        // A pointer naming a version that is not there.
        std::fs::write(dir.path().join("current"), "20260101T000000Z-00000000\n").unwrap();
        let d = evaluate(dir.path(), &input);
        assert!(d.accepted);
        assert_eq!(
            d.current_version.as_deref(),
            Some("20260101T000000Z-00000000")
        );
        assert!(
            d.reason
                .contains("cannot be loaded (manifest.json is missing)"),
            "{}",
            d.reason
        );
        // A damaged pointer.
        std::fs::write(dir.path().join("current"), "../../etc\n").unwrap();
        let d = evaluate(dir.path(), &input);
        assert!(d.accepted);
        assert_eq!(d.current_version, None);
        assert!(
            d.reason
                .contains("the current pointer names no valid version"),
            "{}",
            d.reason
        );
        let (name, bytes) = file(&d).unwrap();
        assert_eq!(name, "gate.json");
        assert_eq!(serde_json::from_slice::<GateDecision>(&bytes).unwrap(), d);
    }

    #[test]
    fn rejects_each_invalid_setting_naming_it() {
        GateConfig::default().validate().unwrap();
        let field = |c: GateConfig| match c.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let d = GateConfig::default;
        assert_eq!(
            field(GateConfig {
                window_secs: 0,
                ..d()
            }),
            "gate.window_secs"
        );
        assert_eq!(
            field(GateConfig {
                min_users: 0,
                ..d()
            }),
            "gate.min_users"
        );
        for bad in [-0.1, 1.0, f64::NAN] {
            assert_eq!(
                field(GateConfig {
                    ndcg_tolerance: bad,
                    ..d()
                }),
                "gate.ndcg_tolerance"
            );
        }
        for bad in [-0.1, 1.1, f64::NAN] {
            assert_eq!(
                field(GateConfig {
                    min_index_recall: bad,
                    ..d()
                }),
                "gate.min_index_recall"
            );
        }
        // Still checked with the gate off: the decision is computed anyway.
        assert_eq!(
            field(GateConfig {
                enabled: false,
                min_users: 0,
                ..d()
            }),
            "gate.min_users"
        );
    }
}
