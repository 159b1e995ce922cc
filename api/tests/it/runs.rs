//! The pipeline's run history and lease (`store/runs.rs`) and the admin API over them
//! (`/v1/admin/pipeline/runs`): one holder at a time, take-over after expiry with a higher
//! fence, stale fences refused, one run per cron tick, retries, pagination, 409 and 403.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use crate::TestApp;
use api::store::runs::{
    Claim, Fence, Finish, RUNNER_LOST, RunId, RunReport, RunRequest, RunRow, RunStatus, Trigger,
};

crate::both!(
    the_lease_has_one_holder_at_a_time,
    an_expired_lease_is_taken_over_with_a_higher_fence,
    a_stale_fence_cannot_finish_a_run,
    a_tick_queues_one_run_however_many_schedulers_fire,
    a_failed_run_is_retried_after_its_backoff_until_attempts_run_out,
    runs_are_listed_newest_first_in_pages,
    an_admin_queues_one_run_at_a_time,
    concurrent_requests_queue_one_run,
    only_admins_see_or_queue_runs,
);

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(50);

fn report(version: &str) -> RunReport {
    RunReport {
        version: version.to_owned(),
        counts: serde_json::json!({ "users": 3 }),
        metrics: serde_json::json!({ "ndcg": 0.25 }),
        gate: Some(serde_json::json!({ "accepted": true })),
    }
}

/// Claims the next run as `holder` with `fence`, which must hold the lease.
async fn claim(app: &TestApp, holder: &str, fence: Fence) -> (Vec<RunId>, Option<RunRow>) {
    match app.state.store.claim_next(holder, fence, 4).await.unwrap() {
        Claim::Held { abandoned, run } => (abandoned, run.map(|r| *r)),
        Claim::LeaseLost => panic!("{holder} lost the lease"),
    }
}

async fn queued(app: &TestApp) -> RunRow {
    match app.state.store.request_run(None).await.unwrap() {
        RunRequest::Queued(run) => run,
        RunRequest::Pending(run) => panic!("run {} pending", run.id),
    }
}

async fn the_lease_has_one_holder_at_a_time(app: TestApp) {
    let store = &app.state.store;
    let a = store
        .try_acquire_lease("a", LONG)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(store.try_acquire_lease("b", LONG).await.unwrap(), None);
    // Its own live lease: the same fence.
    assert_eq!(store.try_acquire_lease("a", LONG).await.unwrap(), Some(a));
    assert!(store.renew_lease("a", a, LONG).await.unwrap());
    assert!(!store.renew_lease("b", a, LONG).await.unwrap());
    assert!(!store.renew_lease("a", Fence(a.0 + 1), LONG).await.unwrap());
    // Only the holder can claim.
    assert!(matches!(
        store.claim_next("b", a, 4).await.unwrap(),
        Claim::LeaseLost
    ));
    // A release by another is nothing; by the holder, the lease is free with a higher fence.
    store.release_lease("b", a).await.unwrap();
    assert_eq!(store.try_acquire_lease("b", LONG).await.unwrap(), None);
    store.release_lease("a", a).await.unwrap();
    let b = store
        .try_acquire_lease("b", LONG)
        .await
        .unwrap()
        .expect("released");
    assert_eq!(b, Fence(a.0 + 1));
    assert!(!store.renew_lease("a", a, LONG).await.unwrap());
}

async fn an_expired_lease_is_taken_over_with_a_higher_fence(app: TestApp) {
    let store = &app.state.store;
    let a = store.try_acquire_lease("a", SHORT).await.unwrap().unwrap();
    assert_eq!(store.try_acquire_lease("b", LONG).await.unwrap(), None);
    tokio::time::sleep(SHORT * 3).await;
    let b = store
        .try_acquire_lease("b", LONG)
        .await
        .unwrap()
        .expect("expired");
    assert!(b > a, "{b:?} after {a:?}");
    // The old holder finds out on its next renewal or claim, and cannot take it back.
    assert!(!store.renew_lease("a", a, LONG).await.unwrap());
    assert!(matches!(
        store.claim_next("a", a, 4).await.unwrap(),
        Claim::LeaseLost
    ));
    assert_eq!(store.try_acquire_lease("a", LONG).await.unwrap(), None);
}

async fn a_stale_fence_cannot_finish_a_run(app: TestApp) {
    let store = &app.state.store;
    let a = store.try_acquire_lease("a", SHORT).await.unwrap().unwrap();
    let run = queued(&app).await;
    let (abandoned, claimed) = claim(&app, "a", a).await;
    assert!(abandoned.is_empty());
    let claimed = claimed.expect("the queued run");
    assert_eq!(
        (
            claimed.id,
            claimed.status,
            claimed.runner.as_deref(),
            claimed.fence
        ),
        (run.id, RunStatus::Running, Some("a"), Some(a))
    );
    assert!(claimed.started_at.is_some());
    // "a" stalls past its lease; "b" takes over.
    tokio::time::sleep(SHORT * 3).await;
    let b = store.try_acquire_lease("b", LONG).await.unwrap().unwrap();
    let published = Finish::Published(report("v-a"));
    assert!(!store.finish_run(run.id, "a", a, &published).await.unwrap());
    // The new holder abandons the run and claims its retry.
    let (abandoned, retry) = claim(&app, "b", b).await;
    assert_eq!(abandoned, [run.id]);
    let lost = store.run(run.id).await.unwrap().unwrap();
    assert_eq!(lost.status, RunStatus::Abandoned);
    assert_eq!(lost.error.as_deref(), Some(RUNNER_LOST));
    assert!(lost.finished_at.is_some() && lost.version.is_none());
    let retry = retry.expect("the abandoned run again");
    assert_eq!(
        (retry.trigger, retry.attempt, retry.retry_of, retry.fence),
        (Trigger::Retry, 2, Some(run.id), Some(b))
    );
    // Still refused for "a", even with the retry's id; accepted for "b".
    assert!(
        !store
            .finish_run(retry.id, "a", a, &published)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_run(retry.id, "a", b, &published)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_run(retry.id, "b", b, &Finish::Published(report("v-b")))
            .await
            .unwrap()
    );
    let done = store.run(retry.id).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Published);
    assert_eq!(done.version.as_deref(), Some("v-b"));
    let json = |text: Option<String>| serde_json::from_str::<Value>(&text.unwrap()).unwrap();
    assert_eq!(json(done.metrics)["ndcg"], 0.25);
    assert_eq!(json(done.counts)["users"], 3);
    assert_eq!(json(done.gate)["accepted"], true);
    // Finished once: a second finish is refused.
    assert!(
        !store
            .finish_run(retry.id, "b", b, &published)
            .await
            .unwrap()
    );
}

async fn a_tick_queues_one_run_however_many_schedulers_fire(app: TestApp) {
    let store = &app.state.store;
    let first = store.enqueue_tick(1_700_000_000).await.unwrap();
    assert!(first.is_some());
    assert_eq!(store.enqueue_tick(1_700_000_000).await.unwrap(), None);
    // Three schedulers firing on the next tick at once.
    let tick = 1_700_000_003;
    let (x, y, z) = tokio::join!(
        store.enqueue_tick(tick),
        store.enqueue_tick(tick),
        store.enqueue_tick(tick)
    );
    let made: Vec<RunId> = [x, y, z].into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let runs = store.list_runs(None, 10).await.unwrap();
    let ticks: Vec<(Trigger, Option<i64>, RunStatus)> = runs
        .iter()
        .map(|r| (r.trigger, r.scheduled_for, r.status))
        .collect();
    assert_eq!(
        ticks,
        [
            (Trigger::Schedule, Some(tick), RunStatus::Queued),
            (Trigger::Schedule, Some(1_700_000_000), RunStatus::Queued),
        ]
    );
    // The oldest is claimed first.
    let fence = store.try_acquire_lease("a", LONG).await.unwrap().unwrap();
    let (_, run) = claim(&app, "a", fence).await;
    assert_eq!(run.unwrap().id, first.unwrap());
}

async fn a_failed_run_is_retried_after_its_backoff_until_attempts_run_out(app: TestApp) {
    let store = &app.state.store;
    let fence = store.try_acquire_lease("a", LONG).await.unwrap().unwrap();
    let run = queued(&app).await;
    claim(&app, "a", fence).await.1.unwrap();
    let later = api::store::now() + 60;
    let failed = Finish::Failed {
        error: "the data set is empty".into(),
        retry_at: Some(later),
    };
    assert!(store.finish_run(run.id, "a", fence, &failed).await.unwrap());
    let row = store.run(run.id).await.unwrap().unwrap();
    assert_eq!(row.status, RunStatus::Failed);
    assert_eq!(row.error.as_deref(), Some("the data set is empty"));
    let runs = store.list_runs(None, 10).await.unwrap();
    let retry = &runs[0];
    assert_eq!(
        (
            retry.trigger,
            retry.status,
            retry.attempt,
            retry.retry_of,
            retry.not_before
        ),
        (Trigger::Retry, RunStatus::Queued, 2, Some(run.id), later)
    );
    // Not before its time.
    assert!(claim(&app, "a", fence).await.1.is_none());
    // A failure without a retry (the last attempt) queues nothing.
    let other = store.enqueue_tick(1).await.unwrap().unwrap();
    claim(&app, "a", fence).await.1.unwrap();
    let last = Finish::Failed {
        error: "again".into(),
        retry_at: None,
    };
    assert!(store.finish_run(other, "a", fence, &last).await.unwrap());
    assert_eq!(store.list_runs(None, 10).await.unwrap().len(), 3);
    // An abandoned run on its last attempt is not queued again.
    let (abandoned, lost) = {
        let tick = store.enqueue_tick(2).await.unwrap().unwrap();
        claim(&app, "a", fence).await.1.unwrap();
        store.release_lease("a", fence).await.unwrap();
        let b = store.try_acquire_lease("b", LONG).await.unwrap().unwrap();
        match store.claim_next("b", b, 1).await.unwrap() {
            Claim::Held { abandoned, run } => (abandoned, (tick, run.map(|r| *r))),
            Claim::LeaseLost => panic!("b holds the lease"),
        }
    };
    assert_eq!(abandoned, [lost.0]);
    assert!(lost.1.is_none(), "no retry beyond the attempts");
    assert_eq!(store.list_runs(None, 10).await.unwrap().len(), 4);
}

async fn runs_are_listed_newest_first_in_pages(app: TestApp) {
    let admin = app.register_as("operator", "admin").await;
    let mut made = Vec::new();
    for tick in [10, 20, 30, 40, 50] {
        made.push(app.state.store.enqueue_tick(tick).await.unwrap().unwrap().0);
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut uri = "/v1/admin/pipeline/runs?limit=2".to_owned();
    loop {
        let r = app.get(&uri, Some(&admin.token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        match r.body["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/admin/pipeline/runs?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let r = app
        .get("/v1/admin/pipeline/runs?limit=1", Some(&admin.token))
        .await;
    let run = &r.body["items"][0];
    assert_eq!(run["trigger"], "schedule");
    assert_eq!(run["status"], "queued");
    assert_eq!(run["scheduled_for"], 50);
    assert_eq!(run["attempt"], 1);
    for field in [
        "requested_by",
        "retry_of",
        "runner",
        "fence",
        "started_at",
        "finished_at",
        "version",
        "counts",
        "metrics",
        "gate",
        "error",
    ] {
        assert!(run.get(field).is_some_and(Value::is_null), "{field}: {run}");
    }
    assert!(run["created_at"].as_i64().unwrap() > 0);
    assert!(run["not_before"].as_i64().unwrap() > 0);
    // Bad paging.
    app.get("/v1/admin/pipeline/runs?limit=0", Some(&admin.token))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range");
    app.get("/v1/admin/pipeline/runs?cursor=bm9wZQ", Some(&admin.token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
}

async fn an_admin_queues_one_run_at_a_time(app: TestApp) {
    let admin = app.register_as("operator", "admin").await;
    let r = app
        .post("/v1/admin/pipeline/runs", Some(&admin.token), Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["trigger"], "admin");
    assert_eq!(r.body["status"], "queued");
    assert_eq!(r.body["requested_by"], admin.id);
    let id = r.body["id"].as_i64().unwrap();
    // Queued: a second request is refused with the pending run's id.
    let again = app
        .post("/v1/admin/pipeline/runs", Some(&admin.token), Value::Null)
        .await;
    again.assert_error(StatusCode::CONFLICT, "run_pending");
    assert_eq!(again.body["run_id"], id);
    // Running: still refused.
    let store = &app.state.store;
    let fence = store.try_acquire_lease("a", LONG).await.unwrap().unwrap();
    claim(&app, "a", fence).await.1.unwrap();
    let again = app
        .post("/v1/admin/pipeline/runs", Some(&admin.token), Value::Null)
        .await;
    again.assert_error(StatusCode::CONFLICT, "run_pending");
    assert_eq!(again.body["run_id"], id);
    // Finished: a new one can be queued.
    assert!(
        store
            .finish_run(RunId(id), "a", fence, &Finish::Rejected(report("v1")))
            .await
            .unwrap()
    );
    let r = app
        .post("/v1/admin/pipeline/runs", Some(&admin.token), Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_ne!(r.body["id"], id);
    let listed = app.get("/v1/admin/pipeline/runs", Some(&admin.token)).await;
    assert_eq!(listed.body["items"][1]["status"], "rejected");
    assert_eq!(listed.body["items"][1]["version"], "v1");
    assert_eq!(listed.body["items"][1]["runner"], "a");
    assert_eq!(listed.body["items"][1]["fence"], fence.0);
    // Each request is in the audit log.
    let audit = app
        .get(
            "/v1/admin/audit?action=pipeline_run_requested",
            Some(&admin.token),
        )
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", audit.body);
    assert_eq!(entries[1]["actor"], admin.id);
    assert_eq!(entries[1]["details"]["run"], id);
}

async fn concurrent_requests_queue_one_run(app: TestApp) {
    let store = &app.state.store;
    let (x, y, z) = tokio::join!(
        store.request_run(Some(1)),
        store.request_run(Some(2)),
        store.request_run(None)
    );
    let answers = [x.unwrap(), y.unwrap(), z.unwrap()];
    let queued: Vec<RunId> = answers
        .iter()
        .filter_map(|a| match a {
            RunRequest::Queued(run) => Some(run.id),
            RunRequest::Pending(_) => None,
        })
        .collect();
    assert_eq!(queued.len(), 1, "{answers:?}");
    for answer in &answers {
        if let RunRequest::Pending(run) = answer {
            assert_eq!(run.id, queued[0]);
        }
    }
    assert_eq!(store.list_runs(None, 10).await.unwrap().len(), 1);
}

async fn only_admins_see_or_queue_runs(app: TestApp) {
    let user = app.register("someone").await;
    let moderator = app.register_as("warden", "moderator").await;
    for token in [&user.token, &moderator.token] {
        app.get("/v1/admin/pipeline/runs", Some(token))
            .await
            .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
        app.post("/v1/admin/pipeline/runs", Some(token), Value::Null)
            .await
            .assert_error(StatusCode::FORBIDDEN, "insufficient_role");
    }
    app.get("/v1/admin/pipeline/runs", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    assert!(
        app.state
            .store
            .list_runs(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
