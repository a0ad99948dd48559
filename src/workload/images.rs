//! Generated images (`images = { count, width, height }`): PNGs made locally from the seed,
//! made once and attached, bytes shared, to every prompt's last user message.

use std::sync::Arc;

use super::WorkloadError;
use super::rng::Rng;
use crate::config::ImageSpec;
use crate::protocol::{Image, Message};

/// How far each pixel strays from the smooth picture: enough noise that the PNG compresses
/// about as a photo does (roughly half its raw size), not to a few hundred bytes.
const NOISE: u64 = 16;

/// The `spec.count` images of a workload seeded with `seed`; the same seed, the same bytes.
pub(super) fn generate(spec: ImageSpec, seed: u64) -> Result<Vec<Image>, WorkloadError> {
    (0..spec.count)
        .map(|n| {
            let png = picture(spec.width, spec.height, seed ^ u64::from(n).rotate_left(32))?;
            Image::from_bytes(Arc::<[u8]>::from(png), format!("generated #{}", n + 1))
                .ok_or_else(|| WorkloadError::Images("the PNG encoder wrote no PNG".to_string()))
        })
        .collect()
}

/// Attaches `images` to the last user message of `messages` (the last message if none is a
/// user's).
pub(super) fn attach(messages: &mut [Message], images: &[Image]) {
    let last_user = messages.iter().rposition(|m| m.role == "user");
    let index = last_user.unwrap_or(messages.len().saturating_sub(1));
    if let Some(message) = messages.get_mut(index) {
        message.images.extend_from_slice(images);
    }
}

/// A `width`×`height` RGB PNG: a gradient between four seeded corner colours, with noise.
fn picture(width: u32, height: u32, seed: u64) -> Result<Vec<u8>, WorkloadError> {
    let mut rng = Rng::new(seed);
    // Each channel's value at the four corners: top left, top right, bottom left, bottom right.
    let mut channels = [[0.0; 4]; 3];
    for corner in 0..4 {
        let c = rng.next_u64().to_le_bytes();
        for (channel, byte) in channels.iter_mut().zip(c) {
            channel[corner] = f64::from(byte);
        }
    }
    let (w, h) = (width as usize, height as usize);
    let mut pixels = Vec::with_capacity(w * h * 3);
    let mut noise = Noise {
        rng,
        bits: 0,
        left: 0,
    };
    for y in 0..h {
        let fy = fraction(y, h);
        for x in 0..w {
            let fx = fraction(x, w);
            for corners in &channels {
                let top = lerp(corners[0], corners[1], fx);
                let bottom = lerp(corners[2], corners[3], fx);
                let base = lerp(top, bottom, fy);
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "clamped to 0..=255 first"
                )]
                let value = (base + noise.next()).clamp(0.0, 255.0) as u8;
                pixels.push(value);
            }
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let failed = |e: png::EncodingError| WorkloadError::Images(e.to_string());
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(png)
}

/// `i` of `n` as a fraction from 0 to 1.
fn fraction(i: usize, n: usize) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "pixel positions are small")]
    let (i, n) = (i as f64, n.saturating_sub(1).max(1) as f64);
    i / n
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// Noise from `-NOISE/2` to `NOISE/2`, eight draws from each random number.
struct Noise {
    rng: Rng,
    bits: u64,
    left: u32,
}

impl Noise {
    fn next(&mut self) -> f64 {
        if self.left == 0 {
            self.bits = self.rng.next_u64();
            self.left = 8;
        }
        let byte = self.bits & 0xff;
        self.bits >>= 8;
        self.left -= 1;
        #[expect(clippy::cast_precision_loss, reason = "a small number")]
        let n = (byte % NOISE) as f64;
        n - (NOISE / 2) as f64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn spec(count: u32, width: u32, height: u32) -> ImageSpec {
        ImageSpec {
            count,
            width,
            height,
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_images_and_another_seed_others() {
        let a = generate(spec(2, 64, 48), 7).unwrap();
        let b = generate(spec(2, 64, 48), 7).unwrap();
        let c = generate(spec(2, 64, 48), 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a[0].data, c[0].data);
        assert_ne!(a[0].data, a[1].data, "the images of one prompt differ");
        assert_eq!(a[1].source, "generated #2");
    }

    #[test]
    fn a_generated_image_is_a_png_that_decodes_to_its_size() {
        let image = &generate(spec(1, 96, 40), 3).unwrap()[0];
        assert_eq!(image.media_type.name(), "image/png");
        assert_eq!((image.width, image.height), (Some(96), Some(40)));
        let decoder = png::Decoder::new(std::io::Cursor::new(image.data.to_vec()));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buffer).unwrap();
        assert_eq!((frame.width, frame.height), (96, 40));
        // Noise keeps it photo-like in size: not compressed to almost nothing.
        assert!(image.bytes > 96 * 40, "{} bytes", image.bytes);
    }

    #[test]
    fn images_go_on_the_last_user_message_and_share_their_bytes() {
        let images = generate(spec(1, 8, 8), 1).unwrap();
        let mut first = vec![
            Message::system("s"),
            Message::user("a"),
            Message::assistant("b"),
            Message::user("c"),
        ];
        let mut second = vec![Message::user("d")];
        attach(&mut first, &images);
        attach(&mut second, &images);
        let counts: Vec<usize> = first.iter().map(|m| m.images.len()).collect();
        assert_eq!(counts, [0, 0, 0, 1]);
        assert!(Arc::ptr_eq(
            &first[3].images[0].data,
            &second[0].images[0].data
        ));
    }
}
