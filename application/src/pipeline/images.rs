//! Photos users send, for a bot whose model sees them: fetched from the platform (at most [`MAX_IMAGE_BYTES`]) and shown to the model only when their bytes are an image of a type models read.

use crate::ports::Image;

/// The largest photo fetched for a model.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// The answer to a photo that could not be fetched or is not an image models read.
pub const UNREADABLE_IMAGE_REPLY: &str = "Sorry, I could not open that photo.";

/// The image type of `bytes`, told by their first bytes (never by a name or a header).
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// `bytes` as an image for the model, if they are one.
pub fn checked(bytes: Vec<u8>) -> Option<Image> {
    let media_type = image_type(&bytes)?;
    Some(Image { media_type, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_known_by_its_bytes() {
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"\xFF\xD8\xFF\xE0rest", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1a\nrest", Some("image/png")),
            (b"GIF89a..", Some("image/gif")),
            (b"RIFF\x10\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"%PDF-1.7", None),
            (b"<svg xmlns=", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(image_type(bytes), expected, "{bytes:?}");
        }
        assert_eq!(
            checked(b"GIF87a".to_vec()).map(|i| i.media_type),
            Some("image/gif")
        );
        assert_eq!(checked(b"hello".to_vec()), None);
    }
}
