//! Text lengths as the platforms count them.

/// Length as the platforms count it: UTF-16 code units (Telegram's 4096 limit, for one).
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}
