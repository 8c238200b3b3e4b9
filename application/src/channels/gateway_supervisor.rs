//! Gateway supervision: exactly one connection across replicas for each bot with Discord's gateway mode on, held by a lease.
//!
//! Each [`GatewaySupervisor::tick`] (every third of the lease's length) reads the Discord
//! bindings, stops the connections whose binding is gone or has gateway mode off (giving their
//! lease up), and for each wanted bot renews or takes the lease `discord-gateway:{bot_id}`:
//! held, the connection is opened (again when its credentials changed, or a while after it
//! ended by itself); lost to another replica, it is closed. When the store cannot be read, the
//! last known bindings are kept; when a lease cannot be renewed, its connection is closed once
//! the lease would have expired.

use crate::ports::{Clock, Gateway, GatewayConnection, Leases};
use chrono::{DateTime, TimeDelta, Utc};
use domain::repositories::BindingRepository;
use domain::{BotId, Credentials, PlatformBinding, PlatformKind};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a connection that ended by itself (a refused token, say) waits before it is
/// opened again, unless its credentials change first.
pub const RESTART_AFTER: Duration = Duration::from_secs(60);

/// The lease that makes one replica hold a bot's gateway connection.
pub fn gateway_lease(bot_id: BotId) -> String {
    format!("discord-gateway:{bot_id}")
}

/// What the supervisor needs from outside.
pub struct GatewayPorts {
    pub bindings: Arc<dyn BindingRepository>,
    pub leases: Arc<dyn Leases>,
    pub gateway: Arc<dyn Gateway>,
    pub clock: Arc<dyn Clock>,
}

/// A connection this replica holds.
struct Held {
    binding: PlatformBinding,
    connection: Box<dyn GatewayConnection>,
    started_at: DateTime<Utc>,
    renewed_at: DateTime<Utc>,
}

/// Runs this replica's share of the gateway connections; driven by one task.
pub struct GatewaySupervisor {
    ports: GatewayPorts,
    holder: String,
    ttl: Duration,
    held: HashMap<BotId, Held>,
}

fn gateway_on(binding: &PlatformBinding) -> bool {
    matches!(&binding.credentials, Credentials::Discord(discord) if discord.gateway)
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>, span: Duration) -> bool {
    now - since >= TimeDelta::from_std(span).unwrap_or(TimeDelta::MAX)
}

impl GatewaySupervisor {
    /// `holder` names this replica in the leases; `ttl` is how long a lease lasts unrenewed.
    pub fn new(ports: GatewayPorts, holder: impl Into<String>, ttl: Duration) -> Self {
        Self {
            ports,
            holder: holder.into(),
            ttl,
            held: HashMap::new(),
        }
    }

    /// How often to tick: a third of the lease's length.
    pub fn every(&self) -> Duration {
        self.ttl / 3
    }

    /// The bots whose connection this replica holds.
    pub fn holding(&self) -> Vec<BotId> {
        self.held.keys().copied().collect()
    }

    /// One round: stop what is no longer wanted, then hold or let go of each wanted bot.
    pub async fn tick(&mut self) {
        let now = self.ports.clock.now();
        let wanted = self.wanted().await;
        let unwanted: Vec<BotId> = self
            .held
            .keys()
            .filter(|bot_id| !wanted.contains_key(bot_id))
            .copied()
            .collect();
        for bot_id in unwanted {
            self.stop(bot_id, "its binding is gone or has gateway mode off")
                .await;
            self.release(bot_id).await;
        }
        for binding in wanted.into_values() {
            self.hold(binding, now).await;
        }
    }

    /// Closes every connection and gives every lease up.
    pub async fn shutdown(&mut self) {
        let held: Vec<BotId> = self.holding();
        for bot_id in held {
            self.stop(bot_id, "shutting down").await;
            self.release(bot_id).await;
        }
    }

    /// The Discord bindings with gateway mode on; the last known ones when the store fails.
    async fn wanted(&self) -> HashMap<BotId, PlatformBinding> {
        match self
            .ports
            .bindings
            .list_by_platform(PlatformKind::Discord)
            .await
        {
            Ok(bindings) => bindings
                .into_iter()
                .filter(gateway_on)
                .map(|binding| (binding.bot_id, binding))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "cannot list Discord bindings; keeping the gateways as they are");
                self.held
                    .iter()
                    .map(|(bot_id, held)| (*bot_id, held.binding.clone()))
                    .collect()
            }
        }
    }

    async fn hold(&mut self, binding: PlatformBinding, now: DateTime<Utc>) {
        let bot_id = binding.bot_id;
        let acquired = self
            .ports
            .leases
            .acquire(&gateway_lease(bot_id), &self.holder, now, self.ttl)
            .await;
        match acquired {
            Ok(true) => self.keep_open(binding, now).await,
            Ok(false) => {
                if self.held.contains_key(&bot_id) {
                    self.stop(bot_id, "another replica took its lease").await;
                }
            }
            Err(error) => {
                tracing::warn!(%bot_id, %error, "cannot renew the gateway lease");
                // Closed one tick before the lease can expire, so that no other replica can
                // hold it while this connection is still open.
                let closing_time = self.ttl.saturating_sub(self.every());
                let expiring = self
                    .held
                    .get(&bot_id)
                    .is_some_and(|held| elapsed(held.renewed_at, now, closing_time));
                if expiring {
                    self.stop(bot_id, "its lease expired unrenewed").await;
                }
            }
        }
    }

    /// With the lease held: opens the connection, or reopens it when it must be.
    async fn keep_open(&mut self, binding: PlatformBinding, now: DateTime<Utc>) {
        let bot_id = binding.bot_id;
        let reopen = match self.held.get_mut(&bot_id) {
            None => None,
            Some(held) => {
                held.renewed_at = now;
                match reopen_reason(held, &binding, now) {
                    Some(reason) => Some(reason),
                    None => return,
                }
            }
        };
        if let Some(reason) = reopen {
            self.stop(bot_id, reason).await;
        }
        tracing::info!(%bot_id, "opening the Discord gateway connection");
        let connection = self.ports.gateway.connect(&binding).await;
        self.held.insert(
            bot_id,
            Held {
                binding,
                connection,
                started_at: now,
                renewed_at: now,
            },
        );
    }

    async fn stop(&mut self, bot_id: BotId, reason: &str) {
        if let Some(mut held) = self.held.remove(&bot_id) {
            tracing::info!(%bot_id, reason, "closing the Discord gateway connection");
            held.connection.close().await;
        }
    }

    async fn release(&self, bot_id: BotId) {
        let released = self
            .ports
            .leases
            .release(&gateway_lease(bot_id), &self.holder)
            .await;
        if let Err(error) = released {
            tracing::warn!(%bot_id, %error, "cannot give the gateway lease up; it will expire");
        }
    }
}

/// Why a held connection must be reopened, if it must.
fn reopen_reason(
    held: &Held,
    binding: &PlatformBinding,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if held.binding.credentials != binding.credentials {
        return Some("its credentials changed");
    }
    let ended = held.connection.is_finished();
    (ended && elapsed(held.started_at, now, RESTART_AFTER)).then_some("it ended by itself")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::{MockClock, MockGateway, MockGatewayConnection, MockLeases};
    use domain::repositories::MockBindingRepository;
    use domain::{DiscordCredentials, RepoError};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    const TTL: Duration = Duration::from_secs(30);
    const HOLDER: &str = "replica-a";

    fn binding(bot_id: BotId, gateway: bool, token: &str) -> PlatformBinding {
        let key = "ab".repeat(32);
        let credentials =
            DiscordCredentials::parse("1", &key, &crate::fixtures::discord_token(token)).unwrap();
        let credentials = Credentials::Discord(credentials.with_gateway(gateway));
        PlatformBinding::new(bot_id, credentials, now())
    }

    /// What the fakes saw and what they answer, changed by the test between ticks.
    #[derive(Default)]
    struct Script {
        bindings: Mutex<Option<Vec<PlatformBinding>>>,
        lease: Mutex<Option<bool>>,
        elapsed: Mutex<TimeDelta>,
        connects: AtomicUsize,
        closes: AtomicUsize,
        releases: Mutex<Vec<String>>,
        ended: Arc<AtomicBool>,
    }

    impl Script {
        fn new(bindings: Vec<PlatformBinding>) -> Arc<Self> {
            let script = Self::default();
            *script.bindings.lock().unwrap() = Some(bindings);
            *script.lease.lock().unwrap() = Some(true);
            Arc::new(script)
        }
        fn set_bindings(&self, bindings: Option<Vec<PlatformBinding>>) {
            *self.bindings.lock().unwrap() = bindings;
        }
        fn set_lease(&self, answer: Option<bool>) {
            *self.lease.lock().unwrap() = answer;
        }
        fn advance(&self, by: Duration) {
            *self.elapsed.lock().unwrap() += TimeDelta::from_std(by).unwrap();
        }
        fn counts(&self) -> (usize, usize) {
            (
                self.connects.load(Ordering::SeqCst),
                self.closes.load(Ordering::SeqCst),
            )
        }
    }

    fn supervisor(script: &Arc<Script>) -> GatewaySupervisor {
        let mut bindings = MockBindingRepository::new();
        let s = script.clone();
        bindings
            .expect_list_by_platform()
            .withf(|kind| *kind == PlatformKind::Discord)
            .returning(move |_| {
                s.bindings
                    .lock()
                    .unwrap()
                    .clone()
                    .ok_or_else(|| RepoError::Unavailable("down".into()))
            });
        let mut leases = MockLeases::new();
        let s = script.clone();
        leases
            .expect_acquire()
            .withf(|name, holder, _, ttl| {
                name.starts_with("discord-gateway:") && holder == HOLDER && *ttl == TTL
            })
            .returning(move |_, _, _, _| {
                s.lease
                    .lock()
                    .unwrap()
                    .ok_or_else(|| RepoError::Unavailable("down".into()))
            });
        let s = script.clone();
        leases.expect_release().returning(move |name, _| {
            s.releases.lock().unwrap().push(name.to_owned());
            Ok(())
        });
        let mut gateway = MockGateway::new();
        let s = script.clone();
        gateway.expect_connect().returning(move |_| {
            s.connects.fetch_add(1, Ordering::SeqCst);
            connection(&s)
        });
        let mut clock = MockClock::new();
        let s = script.clone();
        clock
            .expect_now()
            .returning(move || now() + *s.elapsed.lock().unwrap());
        let ports = GatewayPorts {
            bindings: Arc::new(bindings),
            leases: Arc::new(leases),
            gateway: Arc::new(gateway),
            clock: Arc::new(clock),
        };
        GatewaySupervisor::new(ports, HOLDER, TTL)
    }

    fn connection(script: &Arc<Script>) -> Box<dyn GatewayConnection> {
        let mut connection = MockGatewayConnection::new();
        let ended = script.ended.clone();
        connection
            .expect_is_finished()
            .returning(move || ended.load(Ordering::SeqCst));
        let s = script.clone();
        connection.expect_close().returning(move || {
            s.closes.fetch_add(1, Ordering::SeqCst);
        });
        Box::new(connection)
    }

    #[tokio::test]
    async fn a_bot_with_gateway_mode_is_connected_once_and_its_lease_renewed() {
        let (on, off) = (BotId::new(), BotId::new());
        let script = Script::new(vec![binding(on, true, "t"), binding(off, false, "t")]);
        let mut supervisor = supervisor(&script);
        assert_eq!(supervisor.every(), Duration::from_secs(10));
        for _ in 0..3 {
            supervisor.tick().await;
            script.advance(supervisor.every());
        }
        assert_eq!(supervisor.holding(), vec![on]);
        assert_eq!(script.counts(), (1, 0));
    }

    #[tokio::test]
    async fn a_lease_held_elsewhere_connects_nothing_and_a_lost_one_closes() {
        let bot = BotId::new();
        let script = Script::new(vec![binding(bot, true, "t")]);
        script.set_lease(Some(false));
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        assert_eq!(script.counts(), (0, 0));

        script.set_lease(Some(true));
        supervisor.tick().await;
        script.set_lease(Some(false));
        supervisor.tick().await;
        assert_eq!(script.counts(), (1, 1));
        assert!(supervisor.holding().is_empty());
        assert!(
            script.releases.lock().unwrap().is_empty(),
            "a lease held by another is not given up"
        );
    }

    #[tokio::test]
    async fn a_binding_gone_or_turned_off_closes_and_gives_the_lease_up() {
        let (a, b) = (BotId::new(), BotId::new());
        let script = Script::new(vec![binding(a, true, "t"), binding(b, true, "t")]);
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        script.set_bindings(Some(vec![binding(a, false, "t")]));
        supervisor.tick().await;
        assert_eq!(script.counts(), (2, 2));
        let mut released = script.releases.lock().unwrap().clone();
        released.sort();
        let mut expected = vec![gateway_lease(a), gateway_lease(b)];
        expected.sort();
        assert_eq!(released, expected);
    }

    #[tokio::test]
    async fn new_credentials_reopen_the_connection() {
        let bot = BotId::new();
        let script = Script::new(vec![binding(bot, true, "old")]);
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        script.set_bindings(Some(vec![binding(bot, true, "new")]));
        supervisor.tick().await;
        supervisor.tick().await;
        assert_eq!(script.counts(), (2, 1));
    }

    #[tokio::test]
    async fn an_unreadable_store_keeps_the_connections_and_their_leases() {
        let bot = BotId::new();
        let script = Script::new(vec![binding(bot, true, "t")]);
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        script.set_bindings(None);
        supervisor.tick().await;
        assert_eq!(script.counts(), (1, 0));
        assert_eq!(supervisor.holding(), vec![bot]);
    }

    #[tokio::test]
    async fn a_lease_that_cannot_be_renewed_closes_a_tick_before_it_could_expire() {
        let bot = BotId::new();
        let script = Script::new(vec![binding(bot, true, "t")]);
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        script.set_lease(None);
        let tick = supervisor.every();
        script.advance(TTL - tick - Duration::from_secs(1));
        supervisor.tick().await;
        assert_eq!(script.counts(), (1, 0), "still well within the lease");
        script.advance(Duration::from_secs(1));
        supervisor.tick().await;
        assert_eq!(script.counts(), (1, 1));
    }

    #[tokio::test]
    async fn a_connection_that_ended_is_reopened_after_a_while() {
        let bot = BotId::new();
        let script = Script::new(vec![binding(bot, true, "t")]);
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        script.ended.store(true, Ordering::SeqCst);
        script.advance(RESTART_AFTER - Duration::from_secs(1));
        supervisor.tick().await;
        assert_eq!(script.counts(), (1, 0));
        script.advance(Duration::from_secs(1));
        supervisor.tick().await;
        assert_eq!(script.counts(), (2, 1));
    }

    #[tokio::test]
    async fn shutdown_closes_everything_and_gives_the_leases_up() {
        let bot = BotId::new();
        let script = Script::new(vec![binding(bot, true, "t")]);
        let mut supervisor = supervisor(&script);
        supervisor.tick().await;
        supervisor.shutdown().await;
        assert_eq!(script.counts(), (1, 1));
        assert_eq!(*script.releases.lock().unwrap(), vec![gateway_lease(bot)]);
        assert!(supervisor.holding().is_empty());
    }
}
