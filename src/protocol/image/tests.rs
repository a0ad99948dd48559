//! Images: sniffing their format, reading their size, describing them without their bytes.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use super::*;

#[test]
fn sniffs_the_four_formats_and_nothing_else() {
    assert_eq!(
        MediaType::sniff(&Image::tiny_png("x").data),
        Some(MediaType::Png)
    );
    assert_eq!(
        MediaType::sniff(&[
            0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1
        ]),
        Some(MediaType::Jpeg)
    );
    assert_eq!(
        MediaType::sniff(b"GIF89a\x01\x00\x01\x00\x00\x00"),
        Some(MediaType::Gif)
    );
    assert_eq!(
        MediaType::sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "),
        Some(MediaType::Webp)
    );
    assert_eq!(MediaType::sniff(b"hello, this is text"), None);
    assert_eq!(MediaType::sniff(b""), None);
}

#[test]
fn an_image_knows_its_pixel_size_and_describes_itself_without_its_bytes() {
    let image = Image::tiny_png("cat.png");
    assert_eq!((image.width, image.height), (Some(1), Some(1)));
    assert_eq!(image.to_string(), "[image: cat.png, image/png, 1×1, 67 B]");
    let json = serde_json::to_string(&image).unwrap();
    assert!(!json.contains(&image.base64()), "{json}");
    let back: Image = serde_json::from_str(&json).unwrap();
    assert_eq!((back.bytes, back.source.as_str()), (67, "cat.png"));
    assert!(back.data.is_empty());
}

#[test]
fn sizes_read_as_people_write_them() {
    assert_eq!(crate::format::bytes(999), "999 B");
    assert_eq!(crate::format::bytes(84_200), "84 kB");
    assert_eq!(crate::format::bytes(1_250_000), "1.2 MB");
}

#[test]
fn the_tiny_test_png_decodes() {
    let image = Image::tiny_png("x");
    let decoder = png::Decoder::new(std::io::Cursor::new(image.data.to_vec()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    assert_eq!((frame.width, frame.height), (1, 1));
}
