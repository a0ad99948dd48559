//! `llmrace init`: the commented example race file, written where asked.

use super::CommandError;
use crate::{cli, config, print};

/// `llmrace init`: writes the commented example race file.
pub fn init_command(args: &cli::InitArgs) -> Result<i32, CommandError> {
    use std::io::Write;
    let path = &args.path;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(path)
        .map_err(|source| CommandError::writing(path, source))?;
    file.write_all(config::EXAMPLE_RACE_FILE.as_bytes())
        .map_err(|source| CommandError::Write {
            path: path.clone(),
            source,
        })?;
    print::out(&format!(
        "Wrote {}. Run it with: llmrace race {}\n",
        path.display(),
        path.display()
    ));
    Ok(0)
}
