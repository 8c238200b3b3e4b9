//! Gateway supervisors on one database: whatever the order of their ticks, exactly one replica holds a bot's connection, and the other takes over once it gives the lease up.

use crate::support::{at, new_bot};
use application::ports::{Clock, Gateway, GatewayConnection};
use application::{GatewayPorts, GatewaySupervisor};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::BindingRepository;
use domain::{Credentials, DiscordCredentials, PlatformBinding};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Counts the connections open right now.
#[derive(Default)]
struct CountingGateway {
    open: Arc<AtomicUsize>,
}

struct Counted(Arc<AtomicUsize>);

#[async_trait]
impl Gateway for CountingGateway {
    async fn connect(&self, _: &PlatformBinding) -> Box<dyn GatewayConnection> {
        self.open.fetch_add(1, Ordering::SeqCst);
        Box::new(Counted(self.open.clone()))
    }
}

#[async_trait]
impl GatewayConnection for Counted {
    fn is_finished(&self) -> bool {
        false
    }
    async fn close(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Fixed(DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn supervisor(store: &SeaStore, gateway: &Arc<CountingGateway>, holder: &str) -> GatewaySupervisor {
    let store = Arc::new(store.clone());
    let ports = GatewayPorts {
        bindings: store.clone(),
        leases: store,
        gateway: gateway.clone(),
        clock: Arc::new(Fixed(at(0))),
    };
    GatewaySupervisor::new(ports, holder, Duration::from_secs(30))
}

#[tokio::test]
async fn two_supervisors_never_both_connect_a_bot() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await;
        let key = "c".repeat(64);
        let credentials =
            DiscordCredentials::parse("1", &key, &crate::support::discord_token("token")).unwrap();
        let credentials = Credentials::Discord(credentials.with_gateway(true));
        store
            .upsert(&PlatformBinding::new(bot.id, credentials, at(0)))
            .await
            .unwrap();
        let gateway = Arc::new(CountingGateway::default());
        let mut a = supervisor(&store, &gateway, "replica-a");
        let mut b = supervisor(&store, &gateway, "replica-b");
        for _ in 0..3 {
            b.tick().await;
            a.tick().await;
            assert_eq!(gateway.open.load(Ordering::SeqCst), 1, "{}", db.backend());
        }
        assert_eq!((a.holding().len(), b.holding()), (0, vec![bot.id]));

        b.shutdown().await;
        assert_eq!(gateway.open.load(Ordering::SeqCst), 0);
        a.tick().await;
        assert_eq!(a.holding(), vec![bot.id], "{}: taken over", db.backend());
        assert_eq!(gateway.open.load(Ordering::SeqCst), 1);
    }
}
