//! JSONL prompt files that name images: good files, missing ones, files that are not images.

use std::path::Path;

use crate::config::PromptSource;
use crate::protocol::Image;
use crate::workload::{Prompt, WorkloadError, load};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn folder() -> Result<tempfile::TempDir, std::io::Error> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("cat.png"),
        &*Image::tiny_png("cat.png").data,
    )?;
    std::fs::write(dir.path().join("notes.txt"), "not a picture at all")?;
    Ok(dir)
}

fn load_lines(dir: &Path, lines: &str) -> Result<Vec<Prompt>, WorkloadError> {
    std::fs::write(dir.join("p.jsonl"), lines).map_err(|io| WorkloadError::Read {
        path: dir.join("p.jsonl"),
        io,
    })?;
    load(&PromptSource::File("p.jsonl".into()), dir)
}

#[test]
fn a_prompt_with_images_gets_them_read_once_and_shared() -> TestResult {
    let dir = folder()?;
    let prompts = load_lines(
        dir.path(),
        "{\"prompt\": \"What is in this picture?\", \"images\": [\"cat.png\"]}\n\
         {\"prompt\": \"And now?\", \"images\": [\"cat.png\", \"cat.png\"]}\n\
         {\"prompt\": \"No image here.\"}\n",
    )?;
    let images = &prompts[0].messages[0].images;
    assert_eq!(images.len(), 1);
    assert_eq!(
        images[0].to_string(),
        "[image: cat.png, image/png, 1×1, 67 B]"
    );
    assert_eq!(prompts[1].messages[0].images.len(), 2);
    assert!(std::sync::Arc::ptr_eq(
        &images[0].data,
        &prompts[1].messages[0].images[1].data
    ));
    assert!(prompts[2].messages[0].images.is_empty());
    Ok(())
}

#[test]
fn openai_image_url_parts_name_files_or_carry_data_urls() -> TestResult {
    let dir = folder()?;
    let data_url = Image::tiny_png("x").data_url();
    let line = serde_json::json!({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "Compare these."},
            {"type": "image_url", "image_url": {"url": "cat.png"}},
            {"type": "image_url", "image_url": {"url": data_url}},
        ]},
    ]});
    let prompts = load_lines(dir.path(), &format!("{line}\n"))?;
    let user = &prompts[0].messages[1];
    assert_eq!(user.content, "Compare these.");
    let sources: Vec<&str> = user.images.iter().map(|i| i.source.as_str()).collect();
    assert_eq!(sources, ["cat.png", "data URL"]);
    assert!(prompts[0].messages[0].images.is_empty());
    Ok(())
}

fn refused(lines: &str) -> Result<String, Box<dyn std::error::Error>> {
    let dir = folder()?;
    match load_lines(dir.path(), lines) {
        Ok(_) => Err("was accepted".into()),
        Err(e) => Ok(e.to_string()),
    }
}

#[test]
fn a_missing_image_file_is_refused_with_file_line_and_what_to_do() -> TestResult {
    let message =
        refused("{\"prompt\": \"one\"}\n{\"prompt\": \"two\", \"images\": [\"dog.png\"]}\n")?;
    assert!(
        message.contains("p.jsonl:2: image `dog.png` not found"),
        "{message}"
    );
    assert!(message.contains("dog.png)"), "{message}");
    assert!(
        message.contains("help: image paths are relative"),
        "{message}"
    );
    Ok(())
}

#[test]
fn a_file_that_is_not_an_image_is_refused() -> TestResult {
    let message = refused("{\"prompt\": \"one\", \"images\": [\"notes.txt\"]}\n")?;
    assert!(
        message.contains("p.jsonl:1: `notes.txt` is not a PNG, JPEG, GIF or WebP image"),
        "{message}"
    );
    assert!(
        message.contains("help: llmrace sends PNG, JPEG"),
        "{message}"
    );
    Ok(())
}

#[test]
fn web_addresses_bad_lists_and_system_images_are_refused() -> TestResult {
    let web = refused("{\"prompt\": \"a\", \"images\": [\"https://example.com/cat.png\"]}\n")?;
    assert!(
        web.contains("is a web address") && web.contains("download"),
        "{web}"
    );
    let bad = refused("{\"prompt\": \"a\", \"images\": \"cat.png\"}\n")?;
    assert!(bad.contains("`images` must be a non-empty list"), "{bad}");
    let system = refused(
        "{\"messages\": [{\"role\": \"system\", \"content\": [{\"type\": \"image_url\", \
         \"image_url\": {\"url\": \"cat.png\"}}]}, {\"role\": \"user\", \"content\": \"hi\"}]}\n",
    )?;
    assert!(system.contains("system message"), "{system}");
    let data = refused(
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \
         \"image_url\": {\"url\": \"data:image/png;base64,aGVsbG8=\"}}]}]}\n",
    )?;
    assert!(data.contains("holds no PNG, JPEG"), "{data}");
    Ok(())
}
