//! `report.md`: the run report for people.

use std::fmt::Write as _;

use super::{
    ANN_PLOT, Comparison, EvaluationReport, HISTORY_PLOT, OBJECTIVE_PLOT, RECALL_PLOT, Report,
};
use crate::content::{ContentReport, evaluate};
use crate::spark::TrainerInfo;
use crate::uncertainty::Interval;

/// Recall@K values listed in the Markdown table (the plot has all of 1..=50).
const CURVE_POINTS: &[usize] = &[1, 5, 10, 20, 50];

/// `+12.3 %`, or `n/a` without a value.
fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |x| format!("{:+.1} %", 100.0 * x))
}

/// The headline sentence about the baseline.
fn headline(c: &Comparison) -> String {
    let verdict = if c.absolute > 0.0 {
        "beats"
    } else {
        "does not beat"
    };
    format!(
        "ALS {verdict} MostPopular on {}: {:.4} vs {:.4} ({:+.4}, {} relative).",
        c.metric,
        c.model,
        c.most_popular,
        c.absolute,
        percent(c.relative)
    )
}

/// Renders the report as Markdown.
pub fn to_markdown(r: &Report) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail, so the results of `writeln!` are ignored.
    let _ = write_all(&mut s, r);
    s
}

fn write_all(s: &mut String, r: &Report) -> std::fmt::Result {
    let ev = &r.evaluation;
    writeln!(s, "# Pipeline run `{}`\n", r.version)?;
    writeln!(s, "- created: {}", r.created_at)?;
    writeln!(s, "- artifact: `{}`", r.artifact_dir.display())?;
    writeln!(s, "- data: {}", r.dataset.source)?;
    if let Some(c) = ev.comparison.first() {
        writeln!(s, "\n**{}**", headline(c))?;
    }
    write_gate(s, r)?;

    writeln!(s, "\n## Test metrics (K = {})\n", ev.k)?;
    writeln!(
        s,
        "Users evaluated: {} ({} the model could not score, counted as zeros). The full catalog of {} \
         items is ranked, without each user's train items.\n",
        ev.model.metrics.users, ev.model.metrics.unscored_users, ev.model.metrics.catalog_size
    )?;
    if let Some(sample) = &ev.sample {
        writeln!(
            s,
            "**A sample:** {} of the {} users with test items, drawn uniformly with seed {} (the \
             run's `max_users`); the intervals below are over this sample.\n",
            sample.users, sample.eligible_users, sample.seed
        )?;
    }
    writeln!(s, "| metric | ALS | MostPopular | difference | relative |")?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for c in &ev.comparison {
        writeln!(
            s,
            "| {} | {:.4} | {:.4} | {:+.4} | {} |",
            c.metric,
            c.model,
            c.most_popular,
            c.absolute,
            percent(c.relative)
        )?;
    }
    write_models(s, ev)?;
    write_seed_spread(s, ev)?;
    write_segments(s, ev)?;
    let models = ev.scored_models();
    writeln!(s, "\n### Recall@K\n")?;
    let names: Vec<&str> = models.iter().map(|m| m.0).collect();
    writeln!(s, "| K | {} |", names.join(" | "))?;
    writeln!(s, "|---:|{}", "---:|".repeat(names.len()))?;
    for &k in CURVE_POINTS {
        let values: Option<Vec<String>> = models
            .iter()
            .map(|(_, m)| m.recall_curve.get(k - 1).map(|v| format!("{v:.4}")))
            .collect();
        if let Some(values) = values {
            writeln!(s, "| {k} | {} |", values.join(" | "))?;
        }
    }
    writeln!(s, "\n![Recall@K]({RECALL_PLOT})")?;

    let d = &r.data;
    writeln!(s, "\n## Data\n")?;
    writeln!(s, "| | |")?;
    writeln!(s, "|---|---:|")?;
    if let Some(p) = &r.dataset.path {
        writeln!(s, "| file | `{}` |", p.display())?;
    }
    let rows: [(&str, String); 14] = [
        ("rows loaded", d.rows_loaded.to_string()),
        ("malformed rows skipped", d.skipped_rows.to_string()),
        (
            "rows below min_rating",
            match r.dataset.min_rating {
                Some(m) => format!("{} (min_rating {m})", d.below_min_rating),
                None => "no filter".to_owned(),
            },
        ),
        (
            "duplicate pairs merged",
            format!("{} ({})", d.duplicates_merged, r.dataset.dedup),
        ),
        ("users", d.users.to_string()),
        ("items (catalog)", d.items.to_string()),
        ("interactions", d.interactions.to_string()),
        ("density", format!("{:.4} %", 100.0 * d.density)),
        ("train interactions", d.train_interactions.to_string()),
        ("test interactions", d.test_interactions.to_string()),
        ("users with test items", d.evaluated_users.to_string()),
        ("items only in test", d.test_only_items.to_string()),
        (
            "weighting",
            format!("{:?}", r.dataset.weighting).to_lowercase(),
        ),
        (
            "data fingerprint",
            format!("`{}`", r.dataset.data_fingerprint),
        ),
    ];
    for (name, value) in rows {
        writeln!(s, "| {name} | {value} |")?;
    }

    let t = &r.training;
    let p = &t.params;
    writeln!(s, "\n## Model\n")?;
    writeln!(
        s,
        "Implicit ALS: factors {}, regularization {}, alpha {}, iterations {}, CG steps {}, {} solver, \
         seed {}.",
        p.factors,
        p.regularization,
        p.alpha,
        p.iterations,
        p.cg_steps,
        if p.exact {
            "Cholesky"
        } else {
            "conjugate-gradient"
        },
        p.seed
    )?;
    if let Some(tuning) = &r.tuning {
        let c = &tuning.config;
        let sp = &c.space;
        writeln!(
            s,
            "\nChosen by NDCG@{} on the validation split ({} fit / {} validation interactions, {} users) \
             by successive halving (eta {}, {} configurations{}, seed {}) over log-uniform ranges: \
             factors {}..{}, regularization {}..{}, alpha {}..{}, iterations {}..{}; at most {} trials \
             and {} s. {} trials in {:.1} s.\n",
            tuning.k,
            tuning.fit_interactions,
            tuning.validation_interactions,
            tuning.validation_users,
            c.eta,
            c.configurations,
            if c.refine {
                ", then a refinement around the best"
            } else {
                ""
            },
            tuning.seed,
            sp.factors.0,
            sp.factors.1,
            sp.regularization.0,
            sp.regularization.1,
            sp.alpha.0,
            sp.alpha.1,
            sp.iterations.0,
            sp.iterations.1,
            c.max_trials,
            c.budget_seconds,
            tuning.trials.len(),
            tuning.seconds
        )?;
        writeln!(s, "{}\n", tuning.choice)?;
        writeln!(
            s,
            "| trial | bracket | rung | factors | regularization | alpha | iterations | NDCG@{0} | recall@{0} | seconds | |",
            tuning.k
        )?;
        writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")?;
        for (i, t) in tuning.trials.iter().enumerate() {
            writeln!(
                s,
                "| {} | {} | {} | {} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {:.2} | {} |",
                i + 1,
                t.bracket,
                t.rung,
                t.factors,
                t.regularization,
                t.alpha,
                t.iterations,
                t.ndcg,
                t.recall,
                t.seconds,
                if i == tuning.best { "**best**" } else { "" }
            )?;
        }
    }
    writeln!(s, "\n## Training\n")?;
    match &t.trainer {
        TrainerInfo::Native => {
            writeln!(
                s,
                "{} iterations in {:.2} s; final training loss {} (confidence-weighted squared error \
                 plus regularisation, divided by the total confidence, as the `implicit` library \
                 reports it).",
                t.objective.len(),
                t.seconds,
                t.objective
                    .last()
                    .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.6e}"))
            )?;
            writeln!(s, "\n![Training loss]({OBJECTIVE_PLOT})")?;
        }
        TrainerInfo::Spark(spark) => writeln!(
            s,
            "Trained on Apache Spark {} (MLlib implicit ALS, master `{}`, {} blocks): {} iterations, \
             regParam {:.6} (λ {} over the mean interactions per user: MLlib scales it by each \
             user's and item's count). The fit took {:.2} s inside the job and the stage {:.2} s \
             with the JVM's start, the Parquet input and reading {} user and {} item vectors back. \
             MLlib reports no training loss. The native trainer with the same parameters is scored \
             beside it as `{}` unless the evaluation's `compare_native` is off (the nightly \
             profile).",
            spark.spark_version,
            spark.master,
            spark.blocks,
            t.params.iterations,
            spark.reg_param,
            t.params.regularization,
            spark.fit_seconds,
            t.seconds,
            spark.users,
            spark.items,
            crate::run::NATIVE_BESIDE_SPARK,
        )?,
    }

    let a = &r.ann;
    let m = &a.measurement;
    writeln!(s, "\n## ANN index\n")?;
    writeln!(
        s,
        "HNSW (max_connections {}, ef_construction {}, ef_search {}), built in {:.2} s. Recall@{} against \
         brute force on {} sampled users, their train items excluded: **{:.4}** at ef_search {}.\n",
        a.config.max_connections,
        a.config.ef_construction,
        a.config.ef_search,
        a.build_seconds,
        m.k,
        m.users_sampled,
        m.recall,
        a.config.ef_search
    )?;
    writeln!(s, "| ef | recall@{} | queries/s (1 thread) |", m.k)?;
    writeln!(s, "|---:|---:|---:|")?;
    for pt in &m.sweep {
        writeln!(
            s,
            "| {} | {:.4} | {:.0} |",
            pt.ef, pt.recall, pt.queries_per_second
        )?;
    }
    writeln!(s, "| exact | 1.0000 | {:.0} |", m.exact_queries_per_second)?;
    writeln!(s, "\n![ANN recall]({ANN_PLOT})")?;
    write_content(s, &r.content)?;

    write_history(s, r)?;

    writeln!(s, "\n## Timings\n")?;
    writeln!(s, "| stage | seconds |")?;
    writeln!(s, "|---|---:|")?;
    for st in &r.timings {
        writeln!(s, "| {} | {:.3} |", st.stage, st.seconds)?;
    }
    if let Some(e) = &r.export {
        writeln!(s, "\n## Export\n")?;
        writeln!(s, "Written to `{}`:", e.dir.display())?;
        for f in &e.files {
            writeln!(s, "- `{}`", f.display())?;
        }
    }
    Ok(())
}

/// The runs of the models directory over time: the plot and the latest runs.
fn write_history(s: &mut String, r: &Report) -> std::fmt::Result {
    /// Runs listed in the table (the plot shows every one).
    const LISTED: usize = 10;
    writeln!(s, "\n## History\n")?;
    writeln!(
        s,
        "{} runs of this models directory that reached a report, this one last (test metrics are \
         on each run's own split, so they move with the data too).\n",
        r.history.len()
    )?;
    writeln!(s, "![Runs over time]({HISTORY_PLOT})\n")?;
    writeln!(
        s,
        "| version | started | NDCG | Recall | MostPopular NDCG | gate |"
    )?;
    writeln!(s, "|---|---|---:|---:|---:|---|")?;
    for p in r.history.iter().rev().take(LISTED) {
        writeln!(
            s,
            "| `{}` | {} | {:.4} | {:.4} | {:.4} | {} |",
            p.version,
            p.created_at,
            p.ndcg,
            p.recall,
            p.most_popular_ndcg,
            if p.accepted { "accepted" } else { "rejected" }
        )?;
    }
    Ok(())
}

/// `2 %`, `2.5 %`.
fn share(x: f64) -> String {
    let text = format!("{:.1}", 100.0 * x);
    format!("{} %", text.strip_suffix(".0").unwrap_or(&text))
}

/// The promotion gate's decision, its figures and what happened to the version.
fn write_gate(s: &mut String, r: &Report) -> std::fmt::Result {
    let g = &r.gate;
    let k = r.evaluation.k;
    writeln!(s, "\n## Promotion gate\n")?;
    let current = g.current_version.as_deref();
    let verdict = match (g.enforced, g.accepted, current) {
        (false, _, _) => {
            "**Not enforced** (the gate is disabled): published whatever it says.".to_owned()
        }
        (true, true, _) => "**Accepted**: this version may replace the current one.".to_owned(),
        (true, false, Some(v)) => {
            format!("**Rejected**: kept for inspection, the current version `{v}` stays.")
        }
        (true, false, None) => "**Rejected**: kept for inspection, not made current.".to_owned(),
    };
    writeln!(s, "{verdict} {}.\n", g.reason)?;
    let ndcg = |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.4}"));
    writeln!(s, "| | NDCG@{k} on the holdout | index recall@{k} |")?;
    writeln!(s, "|---|---:|---:|")?;
    writeln!(
        s,
        "| candidate | {} | {:.4} |",
        ndcg(g.candidate_ndcg),
        g.index_recall
    )?;
    if let Some(v) = current {
        writeln!(s, "| current `{v}` | {} | |", ndcg(g.current_ndcg))?;
    }
    writeln!(
        s,
        "| needed | {} ({} tolerance) | {} |",
        ndcg(g.current_ndcg.map(|c| c * (1.0 - g.ndcg_tolerance))),
        share(g.ndcg_tolerance),
        g.min_index_recall
    )?;
    Ok(())
}

/// `0.1234 [0.1200, 0.1300]`.
fn with_ci(value: f64, ci: Interval) -> String {
    format!("{value:.4} [{:.4}, {:.4}]", ci.low, ci.high)
}

/// Every model with its intervals and timings, and the baselines' parameters.
fn write_models(s: &mut String, ev: &EvaluationReport) -> std::fmt::Result {
    let k = ev.k;
    let b = &ev.bootstrap;
    writeln!(s, "\n### Every model (K = {k})\n")?;
    writeln!(
        s,
        "In brackets: {:.0} % confidence intervals, percentile bootstrap over the {} evaluated users \
         ({} resamples, seed {}; the same resamples for every model). Coverage has none: it counts \
         distinct items over a set of users, which a resample (about 63 % of the users) shrinks. \
         Novelty is the mean self-information −log2((train count + 1) / (users + 1)) of the \
         recommended items, in bits. Fit and scoring are wall times.\n",
        100.0 * b.confidence,
        ev.model.metrics.users,
        b.resamples,
        b.seed
    )?;
    writeln!(
        s,
        "| model | NDCG@{k} | Recall@{k} | Precision@{k} | HitRate@{k} | Coverage@{k} | novelty | fit s | scoring s |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for (name, m) in ev.scored_models() {
        let (x, ci) = (&m.metrics, &m.intervals);
        writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {:.4} | {} | {:.3} | {:.3} |",
            with_ci(x.ndcg, ci.ndcg),
            with_ci(x.recall, ci.recall),
            with_ci(x.precision, ci.precision),
            with_ci(x.hit_rate, ci.hit_rate),
            x.coverage,
            format_args!(
                "{:.2} [{:.2}, {:.2}]",
                m.novelty, ci.novelty.low, ci.novelty.high
            ),
            m.fit_seconds,
            m.scoring_seconds
        )?;
    }
    if !ev.versus_als.is_empty() {
        writeln!(
            s,
            "\nALS minus each model, user by user (paired: the intervals come from the same \
             resamples, so what makes a user easy or hard for both cancels):\n"
        )?;
        writeln!(
            s,
            "| model | NDCG@{k} difference | | Recall@{k} difference | |"
        )?;
        writeln!(s, "|---|---:|---|---:|---|")?;
        let verdict = |ci: Interval| {
            if ci.low > 0.0 {
                "ALS better"
            } else if ci.high < 0.0 {
                "ALS worse"
            } else {
                "not distinguishable"
            }
        };
        for d in &ev.versus_als {
            writeln!(
                s,
                "| {} | {:+.4} [{:+.4}, {:+.4}] | {} | {:+.4} [{:+.4}, {:+.4}] | {} |",
                d.model,
                d.ndcg,
                d.ndcg_ci.low,
                d.ndcg_ci.high,
                verdict(d.ndcg_ci),
                d.recall,
                d.recall_ci.low,
                d.recall_ci.high,
                verdict(d.recall_ci)
            )?;
        }
    }
    writeln!(
        s,
        "\nALS and MostPopular as above; every baseline ranks the full catalog without the user's \
         train items, as ALS does:\n"
    )?;
    for base in &ev.baselines {
        match &base.skipped {
            Some(reason) => writeln!(
                s,
                "- {} ({}): **skipped**: {reason}.",
                base.name, base.params
            )?,
            None => writeln!(s, "- {}: {}.", base.name, base.params)?,
        }
    }
    Ok(())
}

/// ALS's NDCG@K and Recall@K over training seeds.
fn write_seed_spread(s: &mut String, ev: &EvaluationReport) -> std::fmt::Result {
    let Some(spread) = &ev.seed_spread else {
        return Ok(());
    };
    let k = ev.k;
    writeln!(s, "\n### ALS over training seeds\n")?;
    let seeds: Vec<String> = spread.runs.iter().map(|r| r.seed.to_string()).collect();
    writeln!(
        s,
        "Trained {} times on the same split with seeds {} (the reported model is seed {}):\n",
        spread.runs.len(),
        seeds.join(", "),
        seeds.first().map_or("", String::as_str)
    )?;
    writeln!(s, "| | mean | sd | min | max |")?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for (name, x) in [("NDCG", &spread.ndcg), ("Recall", &spread.recall)] {
        writeln!(
            s,
            "| {name}@{k} | {:.4} | {:.4} | {:.4} | {:.4} |",
            x.mean, x.sd, x.min, x.max
        )?;
    }
    Ok(())
}

/// The metrics by user activity and by item popularity.
fn write_segments(s: &mut String, ev: &EvaluationReport) -> std::fmt::Result {
    let (k, d) = (ev.k, &ev.segments);
    let c = &d.config;
    let count = |name: &str| {
        d.users
            .iter()
            .find(|x| x.segment == name)
            .map_or(0, |x| x.users)
    };
    writeln!(s, "\n### Users by activity\n")?;
    writeln!(
        s,
        "On each evaluated user's number of train interactions: cold at most {} ({} users), light {} \
         to {} ({} users), heavy more than {} ({} users).\n",
        c.cold_max,
        count("cold"),
        c.cold_max + 1,
        c.light_max,
        count("light"),
        c.light_max,
        count("heavy")
    )?;
    let models = ev.scored_models();
    writeln!(
        s,
        "| model | segment | users | NDCG@{k} | Recall@{k} | HitRate@{k} |"
    )?;
    writeln!(s, "|---|---|---:|---:|---:|---:|")?;
    for (name, m) in &models {
        for seg in &m.users_by_activity {
            writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} |",
                seg.segment,
                seg.users,
                with_ci(seg.ndcg, seg.ndcg_ci),
                with_ci(seg.recall, seg.recall_ci),
                with_ci(seg.hit_rate, seg.hit_rate_ci)
            )?;
        }
    }
    writeln!(s, "\n### Items by popularity\n")?;
    writeln!(
        s,
        "Head: the {} most popular items by train count, holding {:.1} % of the train interactions \
         (the fewest that hold at least {:.0} %) and {:.1} % of the held-out ones; tail: the other {} \
         items. Recall@{k} splits into the hits on held-out head items and on tail items.\n",
        d.head_items,
        100.0 * d.head_train_share,
        100.0 * c.head_share,
        100.0 * d.head_test_share,
        d.tail_items
    )?;
    writeln!(
        s,
        "| model | Recall@{k} from head | Recall@{k} from tail | hits head / tail | head share of recommendations |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for (name, m) in &models {
        let p = &m.items_by_popularity;
        writeln!(
            s,
            "| {name} | {} | {} | {} / {} | {:.1} % |",
            with_ci(p.recall_head, p.recall_head_ci),
            with_ci(p.recall_tail, p.recall_tail_ci),
            p.hits_head,
            p.hits_tail,
            100.0 * p.recommended_head_share
        )?;
    }
    Ok(())
}

/// `0.1234`, or `n/a`.
fn maybe(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.digits$}"))
}

/// The content encoder's section.
fn write_content(s: &mut String, content: &ContentReport) -> std::fmt::Result {
    writeln!(s, "\n## Content encoder\n")?;
    let fit = match content {
        ContentReport::Skipped { reason } => {
            return writeln!(
                s,
                "Skipped: {reason}. New posts get the author-mean or topic-mean vector."
            );
        }
        ContentReport::Fitted(fit) => fit,
    };
    writeln!(
        s,
        "Maps a post's topics and text to the item-vector space (ridge regression from topics and \
         hashed words and word pairs to the ALS item vectors; see `models::content`). Features: {}. \
         {} of {} records are trained catalog items: {} fitted, {} held out and scored below. The \
         published encoder is refitted on all {} with the penalty chosen on {} of the fitted posts: \
         λ = {}.\n",
        fit.source,
        fit.candidates,
        fit.posts_read,
        fit.fit_posts,
        fit.held_out_posts,
        fit.published_posts,
        fit.validation_posts,
        fit.lambda
    )?;
    let headline = |method: &str, name: &str| {
        fit.score(method).map_or_else(String::new, |m| {
            format!(
                "{name} {} ({} of {} posts)",
                maybe(m.mean_cosine, 4),
                m.covered,
                fit.held_out_posts
            )
        })
    };
    writeln!(
        s,
        "**Held-out mean cosine with the trained vectors: {}; {}; {}.**\n",
        headline(evaluate::ENCODER, "encoder"),
        headline(evaluate::AUTHOR_MEAN, "author mean"),
        headline(evaluate::TOPIC_MEAN, "topic mean")
    )?;
    writeln!(
        s,
        "| method | posts with a vector | mean cosine (those posts) | mean cosine (all posts, none = 0) | norm ratio |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for m in &fit.held_out {
        writeln!(
            s,
            "| {} | {} / {} | {} | {:.4} | {} |",
            m.method,
            m.covered,
            fit.held_out_posts,
            maybe(m.mean_cosine, 4),
            m.mean_cosine_all,
            maybe(m.mean_norm_ratio, 2)
        )?;
    }
    if !fit.selection.is_empty() {
        writeln!(s, "\n| λ | validation mean cosine | |")?;
        writeln!(s, "|---:|---:|---|")?;
        for l in &fit.selection {
            writeln!(
                s,
                "| {} | {:.4} | {} |",
                l.lambda,
                l.validation_cosine,
                if l.lambda == fit.lambda {
                    "**chosen**"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(())
}
