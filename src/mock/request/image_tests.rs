//! Images in each protocol's shape, counted by their pixels and not as text.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use super::Ask;
use crate::protocol::{Image, Message, Protocol, RequestSpec};

/// A blank `width`×`height` PNG.
fn png(width: u32, height: u32) -> Image {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&vec![0; (width * height) as usize])
        .unwrap();
    writer.finish().unwrap();
    Image::from_bytes(out, "blank.png").unwrap()
}

fn ask(protocol: Protocol, images: Vec<Image>) -> Ask {
    let mut message = Message::user("What is in this picture?");
    message.images = images;
    let extra = serde_json::Map::new();
    let wire = protocol.build_request(
        "http://127.0.0.1:1",
        &RequestSpec {
            model: "m",
            messages: &[message],
            max_tokens: None,
            temperature: None,
            stream: true,
            tools: &[],
            extra_body: &extra,
        },
    );
    Ask::parse(protocol, &wire.body).unwrap()
}

#[test]
fn each_protocols_images_are_counted_by_their_pixels_not_as_text() {
    for protocol in [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Ollama] {
        let text = ask(protocol, Vec::new());
        assert_eq!((text.images, text.image_tokens), (0, 0), "{protocol:?}");
        let with = ask(protocol, vec![png(512, 512), png(100, 30)]);
        // 512 × 512 / 750 = 349.5 and 100 × 30 / 750 = 4: rounded up.
        assert_eq!((with.images, with.image_tokens), (2, 354), "{protocol:?}");
        assert_eq!(with.input_tokens, text.input_tokens + 354, "{protocol:?}");
    }
}
