//! Images in prompts: what one is (its media type, bytes, pixel size and where it came from),
//! how each protocol carries one on the wire, and how it is described where its bytes would be
//! too many (the replay's prompt lines, the inspector).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The image formats llmrace sends: the ones every protocol that takes images accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaType {
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/gif")]
    Gif,
    #[serde(rename = "image/webp")]
    Webp,
}

impl MediaType {
    /// The format `bytes` start like (their magic bytes), if it is one llmrace sends.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        match imagesize::image_type(bytes).ok()? {
            imagesize::ImageType::Png => Some(MediaType::Png),
            imagesize::ImageType::Jpeg => Some(MediaType::Jpeg),
            imagesize::ImageType::Gif => Some(MediaType::Gif),
            imagesize::ImageType::Webp => Some(MediaType::Webp),
            _ => None,
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Gif => "image/gif",
            MediaType::Webp => "image/webp",
        }
    }
}

/// One image of a message. Its bytes are shared (a generated image attached to every prompt
/// is held once) and never serialised: a replay or `run.json` keeps only the description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub media_type: MediaType,
    #[serde(skip)]
    pub data: Arc<[u8]>,
    /// The size of the image file in bytes (kept when `data` is not, in a replay).
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Where it came from: a file name, `generated #N`, or `data URL`.
    pub source: String,
}

impl Image {
    /// An image of `data`, if it is a PNG, JPEG, GIF or WebP; its pixel size read from its
    /// header when it can be.
    #[must_use]
    pub fn from_bytes(data: impl Into<Arc<[u8]>>, source: impl Into<String>) -> Option<Image> {
        let data: Arc<[u8]> = data.into();
        let media_type = MediaType::sniff(&data)?;
        let size = imagesize::blob_size(&data).ok();
        Some(Image {
            media_type,
            bytes: data.len() as u64,
            width: size.and_then(|s| u32::try_from(s.width).ok()),
            height: size.and_then(|s| u32::try_from(s.height).ok()),
            data,
            source: source.into(),
        })
    }

    /// The image's bytes in base64 (standard alphabet, padded), as every protocol wants them.
    #[must_use]
    pub fn base64(&self) -> String {
        STANDARD.encode(&self.data)
    }

    /// `data:image/png;base64,…`
    #[must_use]
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.media_type.name(), self.base64())
    }

    /// Bytes the image adds to a request body once base64-encoded.
    #[must_use]
    pub fn encoded_len(&self) -> u64 {
        self.bytes.div_ceil(3) * 4
    }
}

/// `[image: cat.png, image/png, 512×512, 84 kB]`
impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[image: {}, {}", self.source, self.media_type.name())?;
        if let (Some(w), Some(h)) = (self.width, self.height) {
            write!(f, ", {w}×{h}")?;
        }
        write!(f, ", {}]", crate::format::bytes(self.bytes))
    }
}

/// OpenAI chat's `content` with images: a text part (when there is text), then an `image_url`
/// part with a data URL per image.
pub(super) fn openai_content(text: &str, images: &[Image]) -> Value {
    let mut parts = Vec::with_capacity(images.len() + 1);
    if !text.is_empty() {
        parts.push(json!({ "type": "text", "text": text }));
    }
    for image in images {
        parts.push(json!({ "type": "image_url", "image_url": { "url": image.data_url() } }));
    }
    Value::Array(parts)
}

/// Anthropic's `content` with images: the text, then each image as a base64 `image` block
/// (Anthropic advises images first; the salt decides here).
pub(super) fn anthropic_content(text: &str, images: &[Image]) -> Value {
    // The text first: a cold race's salt starts it, and it must start the prompt, or two runs'
    // identical images would be a prefix the server caches across them.
    let mut parts: Vec<Value> = Vec::new();
    if !text.is_empty() {
        parts.push(json!({ "type": "text", "text": text }));
    }
    parts.extend(images.iter().map(|image| {
        json!({
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.media_type.name(),
                "data": image.base64(),
            },
        })
    }));
    Value::Array(parts)
}

/// Ollama's `images` field of a message: bare base64 strings.
pub(super) fn ollama_images(images: &[Image]) -> Value {
    images
        .iter()
        .map(|image| Value::String(image.base64()))
        .collect()
}

#[cfg(any(test, feature = "test-support"))]
impl Image {
    /// A tiny valid PNG (1×1), for tests of what carries images.
    #[must_use]
    pub fn tiny_png(source: &str) -> Image {
        const PNG_1X1: [u8; 67] = [
            0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
            0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00,
            0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
        ];
        Image::from_bytes(PNG_1X1.to_vec(), source).unwrap_or_else(|| unreachable!())
    }
}

#[cfg(test)]
mod tests;
