//! The explore slot: the newest posts added since the model was trained, so that new posts get
//! a chance before any model has seen them.

use super::{Context, Pool, read_fresh};
use crate::feed::Reason;

pub(crate) fn propose(ctx: &Context<'_>, pool: &mut Pool) {
    let quota = ctx.config.fresh_quota;
    if quota == 0 {
        return;
    }
    let newest: Vec<String> = read_fresh(ctx.state)
        .newest(quota, |p| ctx.admission.admits(&p.id, &p.author))
        .into_iter()
        .map(|p| p.id.clone())
        .collect();
    for post in newest {
        pool.propose(ctx, &post, Reason::Fresh);
    }
}
