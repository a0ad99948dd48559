//! Images that a JSONL prompt file names: `"images": ["cat.png"]` beside `prompt` (or
//! `messages`), and OpenAI-style `image_url` parts in a message's `content` whose `url` is a
//! local file or a `data:` URL. Files are relative to the JSONL file, read once however many
//! lines name them, and must be PNG, JPEG, GIF or WebP by their first bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::protocol::{Image, Message};

/// A problem with one line's images, and what to do about it.
pub(super) struct Problem {
    pub problem: String,
    pub help: String,
}

fn problem(problem: String, help: &str) -> Problem {
    Problem {
        problem,
        help: help.to_string(),
    }
}

const PATH_HELP: &str = "image paths are relative to the prompts file's folder; check the name";
const FORMAT_HELP: &str = "llmrace sends PNG, JPEG, GIF and WebP images: name such a file, or \
    convert this one (e.g. to PNG)";
const URL_HELP: &str = "llmrace sends images inline: download the image and name the local \
    file, or give a data URL (data:image/png;base64,…)";

/// The image files of one prompts file, each read once.
pub(super) struct ImageFiles {
    dir: PathBuf,
    read: HashMap<PathBuf, Image>,
}

impl ImageFiles {
    pub fn new(dir: &Path) -> ImageFiles {
        ImageFiles {
            dir: dir.to_path_buf(),
            read: HashMap::new(),
        }
    }

    /// Attaches the images `line` names to `messages` (the line's messages, in order).
    pub fn attach(&mut self, line: &str, messages: &mut [Message]) -> Result<(), Problem> {
        // Most lines name no image: they are not read twice.
        if !line.contains("image") {
            return Ok(());
        }
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line) else {
            return Ok(());
        };
        if let Some(items) = object.get("messages").and_then(Value::as_array) {
            for (item, message) in items.iter().zip(messages.iter_mut()) {
                let Some(parts) = item.get("content").and_then(Value::as_array) else {
                    continue;
                };
                for part in parts {
                    if part.get("type").and_then(Value::as_str) != Some("image_url") {
                        continue;
                    }
                    let url = part
                        .get("image_url")
                        .and_then(|u| u.get("url").or(Some(u)))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            problem(
                                "an `image_url` part without a `url` string".to_string(),
                                r#"write {"type": "image_url", "image_url": {"url": "cat.png"}}"#,
                            )
                        })?;
                    let image = self.image(url)?;
                    message.images.push(image);
                }
            }
        }
        if let Some(names) = object.get("images") {
            let names = names.as_array().filter(|n| !n.is_empty()).ok_or_else(|| {
                problem(
                    "`images` must be a non-empty list of file names".to_string(),
                    r#"write e.g. "images": ["cat.png"]"#,
                )
            })?;
            let mut images = Vec::with_capacity(names.len());
            for name in names {
                let name = name.as_str().ok_or_else(|| {
                    problem(
                        "`images` must list file names as strings".to_string(),
                        r#"write e.g. "images": ["cat.png"]"#,
                    )
                })?;
                images.push(self.image(name)?);
            }
            super::images::attach(messages, &images);
        }
        if messages
            .iter()
            .any(|m| m.role == "system" && !m.images.is_empty())
        {
            return Err(problem(
                "an image on a system message".to_string(),
                "put images on a user message: system prompts are text only",
            ));
        }
        Ok(())
    }

    /// The image a line names: a data URL, or a file (`file://` or a path).
    fn image(&mut self, name: &str) -> Result<Image, Problem> {
        if let Some(rest) = name.strip_prefix("data:") {
            let data = rest
                .split_once(";base64,")
                .and_then(|(_, data)| STANDARD.decode(data.trim()).ok())
                .ok_or_else(|| {
                    problem(
                        "a data URL that is not base64 (data:image/png;base64,…)".to_string(),
                        "write the image as data:MEDIA-TYPE;base64,DATA, or name a local file",
                    )
                })?;
            return Image::from_bytes(data, "data URL").ok_or_else(|| {
                problem(
                    "a data URL that holds no PNG, JPEG, GIF or WebP image".to_string(),
                    FORMAT_HELP,
                )
            });
        }
        if name.starts_with("http://") || name.starts_with("https://") {
            return Err(problem(
                format!("image `{name}` is a web address"),
                URL_HELP,
            ));
        }
        let file = name.strip_prefix("file://").unwrap_or(name);
        let path = self.dir.join(file);
        if let Some(image) = self.read.get(&path) {
            return Ok(image.clone());
        }
        let data = std::fs::read(&path).map_err(|io| {
            if io.kind() == std::io::ErrorKind::NotFound {
                problem(
                    format!("image `{name}` not found (looked for {})", path.display()),
                    PATH_HELP,
                )
            } else {
                problem(
                    format!("cannot read image `{name}` ({}): {io}", path.display()),
                    "check that the file can be read",
                )
            }
        })?;
        let image = Image::from_bytes(data, name).ok_or_else(|| {
            problem(
                format!(
                    "`{name}` is not a PNG, JPEG, GIF or WebP image (its first bytes are not \
                     one's)"
                ),
                FORMAT_HELP,
            )
        })?;
        self.read.insert(path, image.clone());
        Ok(image)
    }
}
