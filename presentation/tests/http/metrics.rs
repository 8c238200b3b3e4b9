//! `GET /metrics`: the scrape's text in Prometheus's content type, or a 404 when metrics are not served here.

use crate::support::{assert_problem, Options, TestApp};
use actix_web::test::TestRequest;
use application::ports::{Exposition, JobCount, StoreGauges, StoreReading};
use application::Scrape;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts its reads; one queued reply job.
#[derive(Default)]
struct OneJob {
    reads: AtomicUsize,
}

#[async_trait]
impl StoreGauges for OneJob {
    async fn read(&self, _now: DateTime<Utc>) -> Result<StoreReading, RepoError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(StoreReading {
            jobs: vec![JobCount {
                kind: "reply".into(),
                state: "queued".into(),
                count: 1,
            }],
            ..StoreReading::default()
        })
    }
}

struct Fixed;

impl Exposition for Fixed {
    fn render(&self) -> String {
        "switchboard_up{role=\"serve\"} 1\n".into()
    }
}

#[actix_web::test]
async fn a_scrape_reads_the_store_once_and_answers_the_text_format() {
    let store = Arc::new(OneJob::default());
    let clock = Arc::new(application::ports::SystemClock);
    let scrape = Scrape::new(store.clone(), Arc::new(Fixed), clock);
    let app = TestApp::with(Options {
        metrics: Some(Arc::new(scrape)),
        ..Default::default()
    })
    .await;

    let reply = app.send(TestRequest::get().uri("/metrics")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(reply.raw, "switchboard_up{role=\"serve\"} 1\n");
    assert_eq!(store.reads.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn without_metrics_on_this_app_the_route_is_a_404_problem() {
    let app = TestApp::new().await;
    let reply = app.send(TestRequest::get().uri("/metrics")).await;
    assert_problem(&reply, 404, "not_found");
}
