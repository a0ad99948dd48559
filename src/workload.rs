//! The prompts of a race: built-in sets, files and inline prompts.
