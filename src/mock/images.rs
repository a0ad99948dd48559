//! Images in a generation request, as the mock counts them: how many, and the input tokens
//! they stand for, estimated from their pixel size as providers do (width × height / 750,
//! Anthropic's published rule), or from their bytes when their header cannot be read.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// Pixels per input token of an image.
const PIXELS_PER_TOKEN: u64 = 750;
/// Base64 characters decoded to find an image's pixel size: every format but JPEG has it in
/// its first few dozen bytes, and a JPEG's comes after its metadata, rarely this far.
const HEADER_CHARS: usize = 64 * 1024;

/// Images counted in some part of a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Images {
    pub count: u32,
    pub tokens: u64,
}

impl Images {
    pub fn add(&mut self, other: Images) {
        self.count = self.count.saturating_add(other.count);
        self.tokens = self.tokens.saturating_add(other.tokens);
    }

    /// One image, given as base64 or a `data:` URL (anything else, a web address, counts as
    /// an image of unknown size: one token).
    fn of(text: &str) -> Images {
        let data = match text.strip_prefix("data:") {
            Some(url) => url.split_once(',').map_or("", |(_, data)| data),
            None if text.starts_with("http://") || text.starts_with("https://") => "",
            None => text,
        };
        // Whole groups of four characters decode alone.
        let head = &data.as_bytes()[..data.len().min(HEADER_CHARS) / 4 * 4];
        let pixels = STANDARD
            .decode(head)
            .ok()
            .and_then(|bytes| imagesize::blob_size(&bytes).ok())
            .map(|size| (size.width as u64).saturating_mul(size.height as u64));
        // Without a readable header, the bytes: a compressed image holds about a byte a pixel.
        let pixels = pixels.unwrap_or(data.len() as u64 / 4 * 3);
        Images {
            count: 1,
            tokens: pixels.div_ceil(PIXELS_PER_TOKEN).max(1),
        }
    }
}

/// A string (one image) or a list of them (Ollama's `images`); anything else holds none.
impl<'de> Deserialize<'de> for Images {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ImagesVisitor)
    }
}

struct ImagesVisitor;

impl<'de> Visitor<'de> for ImagesVisitor {
    type Value = Images;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an image or a list of images")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Images, E> {
        Ok(Images::of(v))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Images, E> {
        Ok(Images::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Images, A::Error> {
        let mut total = Images::default();
        while let Some(images) = seq.next_element::<Images>()? {
            total.add(images);
        }
        Ok(total)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Images, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Images::default())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_image_whose_header_cannot_be_read_counts_by_its_bytes() {
        let images = super::Images::of("data:image/png;base64,aGVsbG8gd29ybGQh");
        assert_eq!((images.count, images.tokens), (1, 1));
        let web = super::Images::of("https://example.com/cat.png");
        assert_eq!((web.count, web.tokens), (1, 1));
    }
}
