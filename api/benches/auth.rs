//! The cost a signed-in request pays to be authenticated: the access token's signature, and the
//! revocation check after it (the account's live sessions, role and standing from the principal
//! cache, a hit, as on every request but the first of an account on a replica).
//!
//! `cargo bench -p api --bench auth`. The check is async: both variants run inside the same
//! `block_on`, so their difference is the check itself.

use std::hint::black_box;

use api::auth::jwt::Keys;
use api::principals::Principals;
use api::store::Store;
use criterion::{Criterion, criterion_group, criterion_main};

fn auth(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let (store, user, session) = rt.block_on(async {
        let store = Store::connect(&url, 2).await.expect("the store");
        let user = store
            .create_user("bencher", "Bencher", "", "user")
            .await
            .expect("a user");
        let (session, _) = store
            .start_session(
                user.id,
                &api::store::tokens::SignIn::default(),
                &api::auth::new_refresh_token(),
                &api::auth::new_refresh_token(),
                3600,
            )
            .await
            .expect("a session");
        (store, user.id, session)
    });
    let keys = Keys::from_secret(b"a bench secret of at least thirty-two bytes", 900).unwrap();
    let token = keys.issue(user, session, api::store::now()).unwrap();
    let principals = Principals::new(64 << 20);
    // Warm the cache: every later check is a hit.
    rt.block_on(principals.check(&store, user, session, true))
        .unwrap()
        .unwrap();

    let mut group = c.benchmark_group("authenticate");
    group.bench_function("signature", |b| {
        b.iter(|| rt.block_on(async { black_box(keys.verify(black_box(&token)).unwrap()) }));
    });
    group.bench_function("signature + revocation check", |b| {
        b.iter(|| {
            rt.block_on(async {
                let claims = keys.verify(black_box(&token)).unwrap();
                let sub: i64 = claims.sub.parse().unwrap();
                black_box(
                    principals
                        .check(&store, sub, claims.sid, true)
                        .await
                        .unwrap()
                        .unwrap(),
                )
            })
        });
    });
    group.finish();
}

criterion_group!(benches, auth);
criterion_main!(benches);
