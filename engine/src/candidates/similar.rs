//! Nearest neighbours of the user vector: the HNSW index over the model's items, merged with
//! an exact search of the buffer of posts added since the model was trained.

use models::topk::{Scored, top_k_dot};

use super::{Context, Pool, read_fresh};
use crate::feed::Reason;

/// The model items that can never be admitted, for the index's in-graph exclusion: posts the
/// user interacted with, their own posts, posts of hidden authors and deleted posts.
/// Sorted and deduplicated.
pub(crate) fn exclusions(ctx: &Context<'_>) -> Vec<u32> {
    let state = ctx.state;
    let a = &ctx.admission;
    let mut out: Vec<u32> = a
        .interacted
        .iter()
        .chain(a.tombstones.iter())
        .filter_map(|p| state.item_index.get(p).copied())
        .collect();
    for author in std::iter::once(a.user).chain(a.hidden.iter().map(String::as_str)) {
        if let Some(items) = state.items_by_author.get(author) {
            out.extend_from_slice(items);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The top `k` model items for the user (by exact dot product after the index search), with
/// the index's exclusions applied, the admission filters not yet.
pub(crate) fn search(ctx: &Context<'_>, k: usize, exclude: &[u32]) -> Vec<Scored> {
    let Some(q) = &ctx.user_vector else {
        return Vec::new();
    };
    let index = &ctx.state.index;
    if index.len() <= ctx.config.exact_search_max_items {
        top_k_dot(q.view(), index.items(), k, exclude)
    } else {
        index.search_with_ef(q.view(), k, ctx.state.ef_search, exclude)
    }
}

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.similar_quota;
    let Some(q) = &ctx.user_vector else { return };
    if quota == 0 {
        return;
    }
    let state = ctx.state;
    let exclude = exclusions(ctx);
    // Refill: ask the index for more until `quota` results survive the filters that it cannot
    // apply itself (served in this session, seen elsewhere) or it has nothing more.
    let mut k = quota;
    let found: Vec<(String, f32)> = loop {
        let hits = search(ctx, k, &exclude);
        let kept: Vec<(String, f32)> = hits
            .iter()
            .map(|s| (state.item_ids[s.item as usize].clone(), s.score))
            .filter(|(post, _)| {
                super::locate(state, ctx.graph, post)
                    .is_some_and(|(author, _)| ctx.admission.admits(post, &author))
            })
            .collect();
        if kept.len() >= quota || hits.len() < k {
            break kept;
        }
        k = k.saturating_mul(2);
    };
    let q = q.as_slice().expect("owned vectors are contiguous");
    let buffer = read_fresh(state);
    let fresh: Vec<(String, f32)> = buffer
        .search(q, quota, |p| ctx.admission.admits(&p.id, &p.author))
        .into_iter()
        .map(|(p, s)| (p.id.clone(), s))
        .collect();
    drop(buffer);
    let mut merged: Vec<(String, f32)> = found.into_iter().chain(fresh).collect();
    merged.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    merged.truncate(quota);
    for (post, _) in merged {
        pool.propose(ctx, &post, Reason::Similar);
    }
}
