//! Partial updates: telling a field sent as `null` (clear it) from a field left out (keep it).

use serde::{Deserialize, Deserializer};

/// Double-option: a present field (even `null`) is `Some(..)`; with `#[serde(default)]` an
/// absent one is `None`.
pub(crate) fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
