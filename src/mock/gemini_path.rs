//! The mock's Gemini routes: `/v1beta/models/{model}:streamGenerateContent` and
//! `:generateContent` (also under `/v1`), where the model and streaming are in the path.

/// What a Gemini generation path says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GeminiPath {
    /// The model as named in the path (`gemini-2.5-flash`, percent-encoding left as is).
    pub model: String,
    pub stream: bool,
}

/// The Gemini generation request `path` asks for, if it is one.
pub(crate) fn parse(path: &str) -> Option<GeminiPath> {
    let rest = path
        .strip_prefix("/v1beta/")
        .or_else(|| path.strip_prefix("/v1/"))?;
    let (model, method) = rest.rsplit_once(':')?;
    let stream = match method {
        "streamGenerateContent" => true,
        "generateContent" => false,
        _ => return None,
    };
    let model = model
        .strip_prefix("models/")
        .or_else(|| model.strip_prefix("tunedModels/"))?;
    (!model.is_empty()).then(|| GeminiPath {
        model: model.to_owned(),
        stream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_model_and_the_method() {
        assert_eq!(
            parse("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            Some(GeminiPath {
                model: "gemini-2.5-flash".into(),
                stream: true
            })
        );
        assert_eq!(
            parse("/v1/models/m:generateContent").map(|p| p.stream),
            Some(false)
        );
        assert_eq!(parse("/v1beta/models/m:countTokens"), None);
        assert_eq!(parse("/v1beta/models/:generateContent"), None);
        assert_eq!(parse("/v1/chat/completions"), None);
    }
}
