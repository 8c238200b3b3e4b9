//! What a web chat visitor may use: messages per visitor and per client address (through the
//! rate limiter, shared by the replicas when it is Redis), and open sockets per visitor and per
//! address (counted in this process).

use crate::ports::{Limit, Rate};
use domain::{BotId, ExternalChatId};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The web chat's limits; a `None` rate or a cap of 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebChatLimits {
    /// Messages of one visitor (a web chat visitor, or a REST channel user) to one bot.
    pub per_visitor: Option<Rate>,
    /// Messages from one client address (an IPv6 address's /64) to one bot.
    pub per_address: Option<Rate>,
    /// Open sockets of one visitor to one bot, in this process.
    pub sockets_per_visitor: usize,
    /// Open sockets from one client address to one bot, in this process.
    pub sockets_per_address: usize,
}

impl Default for WebChatLimits {
    fn default() -> Self {
        Self {
            per_visitor: Rate::per_minute(30, 5),
            per_address: Rate::per_minute(120, 20),
            sockets_per_visitor: 5,
            sockets_per_address: 50,
        }
    }
}

impl WebChatLimits {
    /// The allowances a message of `chat` from `address` takes from.
    pub fn message_limits(
        &self,
        bot: BotId,
        chat: &ExternalChatId,
        address: Option<IpAddr>,
    ) -> Vec<Limit> {
        let visitor = self.per_visitor.map(|rate| Limit {
            key: visitor_key(bot, chat),
            rate,
        });
        let address = self.per_address.zip(address).map(|(rate, address)| Limit {
            key: address_key(bot, address),
            rate,
        });
        visitor.into_iter().chain(address).collect()
    }

    /// The socket counts a socket of `chat` from `address` is held under, with their caps.
    fn socket_caps(
        &self,
        bot: BotId,
        chat: &ExternalChatId,
        address: IpAddr,
    ) -> Vec<(String, usize)> {
        [
            (visitor_key(bot, chat), self.sockets_per_visitor),
            (address_key(bot, address), self.sockets_per_address),
        ]
        .into_iter()
        .filter(|(_, cap)| *cap > 0)
        .collect()
    }
}

fn visitor_key(bot: BotId, chat: &ExternalChatId) -> String {
    format!("web_chat:visitor:{bot}:{}", chat.as_str())
}

fn address_key(bot: BotId, address: IpAddr) -> String {
    format!("web_chat:address:{bot}:{}", address_group(address))
}

/// An IPv4 address itself; an IPv6 address's /64, the block one host or home usually holds
/// whole (an IPv4-mapped address counts as its IPv4 address).
fn address_group(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

/// The sockets open in this process, counted per visitor and per address.
#[derive(Debug, Clone, Default)]
pub struct SocketCounts {
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open socket's place in the counts, given back when dropped.
#[derive(Debug)]
pub struct SocketSlot {
    counts: SocketCounts,
    keys: Vec<String>,
}

impl SocketCounts {
    /// A place for one more socket of `chat` from `address`, unless a cap is reached.
    pub fn take(
        &self,
        limits: &WebChatLimits,
        bot: BotId,
        chat: &ExternalChatId,
        address: IpAddr,
    ) -> Option<SocketSlot> {
        let caps = limits.socket_caps(bot, chat, address);
        let mut open = self.lock();
        if caps
            .iter()
            .any(|(key, cap)| open.get(key).copied().unwrap_or(0) >= *cap)
        {
            return None;
        }
        for (key, _) in &caps {
            *open.entry(key.clone()).or_insert(0) += 1;
        }
        Some(SocketSlot {
            counts: self.clone(),
            keys: caps.into_iter().map(|(key, _)| key).collect(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.counts.lock();
        for key in &self.keys {
            if let Some(count) = open.get_mut(key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: &str) -> ExternalChatId {
        ExternalChatId::parse(id).unwrap()
    }

    #[test]
    fn sockets_are_capped_per_visitor_and_per_address_and_given_back() {
        let limits = WebChatLimits {
            sockets_per_visitor: 2,
            sockets_per_address: 3,
            ..WebChatLimits::default()
        };
        let (counts, bot) = (SocketCounts::default(), BotId::new());
        let (home, office): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let first = counts.take(&limits, bot, &chat("v1"), home).unwrap();
        let _second = counts.take(&limits, bot, &chat("v1"), home).unwrap();
        assert!(
            counts.take(&limits, bot, &chat("v1"), office).is_none(),
            "per visitor"
        );
        let _third = counts.take(&limits, bot, &chat("v2"), home).unwrap();
        assert!(
            counts.take(&limits, bot, &chat("v3"), home).is_none(),
            "per address"
        );
        assert!(
            counts
                .take(&limits, BotId::new(), &chat("v1"), home)
                .is_some(),
            "per bot"
        );
        drop(first);
        assert!(
            counts.take(&limits, bot, &chat("v1"), office).is_some(),
            "given back"
        );
        let unlimited = WebChatLimits {
            sockets_per_visitor: 0,
            sockets_per_address: 0,
            ..limits
        };
        let many: Vec<_> = (0..100)
            .map(|_| counts.take(&unlimited, bot, &chat("v1"), home))
            .collect();
        assert!(many.iter().all(Option::is_some));
        drop(many);
        drop(_second);
        drop(_third);
        assert!(counts.lock().is_empty(), "nothing is left behind");
    }

    #[test]
    fn an_ipv6_address_counts_as_its_64_and_a_mapped_ipv4_as_itself() {
        let group = |a: &str| address_group(a.parse().unwrap());
        assert_eq!(group("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(group("2001:db8:1:2:ffff::1"), group("2001:db8:1:2::9"));
        assert_ne!(group("2001:db8:1:3::1"), group("2001:db8:1:2::1"));
        assert_eq!(group("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(group("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn a_message_takes_from_its_visitors_and_its_address_allowance() {
        let (bot, limits) = (BotId::new(), WebChatLimits::default());
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        let keys: Vec<String> = limits
            .message_limits(bot, &chat("v1"), Some(address))
            .into_iter()
            .map(|limit| limit.key)
            .collect();
        assert_eq!(
            keys,
            [
                format!("web_chat:visitor:{bot}:v1"),
                format!("web_chat:address:{bot}:192.0.2.1")
            ]
        );
        assert_eq!(limits.message_limits(bot, &chat("api:u"), None).len(), 1);
        let off = WebChatLimits {
            per_visitor: None,
            per_address: None,
            ..limits
        };
        assert!(off
            .message_limits(bot, &chat("v1"), Some(address))
            .is_empty());
    }
}
