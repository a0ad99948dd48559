//! Cache hygiene: the salt a cold race puts at the very start of every prompt, unique to each
//! endpoint of each run, so that no prompt (system prompt included) can hit a prefix that a
//! server cached for an earlier run, an earlier sweep level or another endpoint it serves.

use rand::Rng;

use crate::protocol::Message;

/// A fresh salt: a few tokens, drawn from the operating system's randomness.
pub fn fresh() -> String {
    let draw: u32 = rand::rng().random();
    format!("[{draw:08x}]")
}

/// `messages` with `salt` at the very start: before the first message's content, the system
/// prompt's when there is one.
pub fn salted(messages: &[Message], salt: &str) -> Vec<Message> {
    let mut salted = messages.to_vec();
    if let Some(first) = salted.first_mut() {
        first.content = with_salt(&first.content, salt);
    }
    salted
}

/// `text` with `salt` before it, as the first message of a salted prompt reads.
pub fn with_salt(text: &str, salt: &str) -> String {
    format!("{salt} {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_salt_goes_first_and_differs_every_time() {
        let messages = [Message::system("be brief"), Message::user("hi")];
        let salted = salted(&messages, "[0badc0de]");
        assert_eq!(salted[0].content, "[0badc0de] be brief");
        assert_eq!(salted[1], messages[1]);
        assert!(self::salted(&[], "[x]").is_empty());
        let salts: std::collections::HashSet<String> = (0..50).map(|_| fresh()).collect();
        assert_eq!(salts.len(), 50);
        assert!(salts.iter().all(|s| s.len() == 10));
    }
}
