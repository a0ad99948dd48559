#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKENvalue";

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<Result<String, ()>> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |var| map.get(var).cloned().map(Ok)
}

const AWS_URL: &str = "https://bedrock-runtime.us-west-2.amazonaws.com";

fn signer(auth: Result<BedrockAuth, AwsAuthError>) -> Signer {
    match auth {
        Ok(BedrockAuth::SigV4(signer)) => signer,
        other => panic!("expected SigV4, got {other:?}"),
    }
}

#[test]
fn a_bedrock_api_key_wins_over_credentials() {
    let auth = resolve(
        "b",
        AWS_URL,
        false,
        env(&[
            (BEARER_TOKEN, "bedrock-api-key-0123"),
            (ACCESS_KEY_ID, "AKIDEXAMPLE"),
            (SECRET_ACCESS_KEY, SECRET),
        ]),
    );
    let Ok(BedrockAuth::Bearer(key)) = auth else {
        panic!("{auth:?}");
    };
    assert_eq!(key.expose(), "bedrock-api-key-0123");
}

#[test]
fn missing_or_half_credentials_name_the_variables_only() {
    let err = resolve("b", AWS_URL, false, env(&[]))
        .unwrap_err()
        .to_string();
    for var in [
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        BEARER_TOKEN,
        SESSION_TOKEN,
    ] {
        assert!(err.contains(var), "{err}");
    }
    let err = resolve("b", AWS_URL, false, env(&[(ACCESS_KEY_ID, "AKIDEXAMPLE")])).unwrap_err();
    assert!(
        matches!(err, AwsAuthError::HalfCredentials { missing, .. } if missing == SECRET_ACCESS_KEY)
    );
    let err = resolve("b", AWS_URL, false, env(&[(SECRET_ACCESS_KEY, SECRET)])).unwrap_err();
    assert!(!err.to_string().contains(SECRET), "{err}");
    let err = resolve(
        "b",
        AWS_URL,
        false,
        env(&[(ACCESS_KEY_ID, "AKID"), (SECRET_ACCESS_KEY, "has\nnewline")]),
    )
    .unwrap_err();
    assert!(matches!(err, AwsAuthError::BadValue { var, .. } if var == SECRET_ACCESS_KEY));
}

#[test]
fn the_host_names_the_region_before_the_environment() {
    let creds = [
        (ACCESS_KEY_ID, "AKIDEXAMPLE"),
        (SECRET_ACCESS_KEY, SECRET),
        (REGION, "eu-west-1"),
    ];
    assert_eq!(
        signer(resolve("b", AWS_URL, false, env(&creds))).region,
        "us-west-2"
    );
    let gateway = "https://llm-gateway.example.com/bedrock";
    assert_eq!(
        signer(resolve("b", gateway, false, env(&creds))).region,
        "eu-west-1"
    );
    let default_only = [
        (ACCESS_KEY_ID, "AKIDEXAMPLE"),
        (SECRET_ACCESS_KEY, SECRET),
        (DEFAULT_REGION, "ap-south-1"),
    ];
    assert_eq!(
        signer(resolve("b", gateway, false, env(&default_only))).region,
        "ap-south-1"
    );
    let err = resolve("b", gateway, false, env(&creds[..2])).unwrap_err();
    assert!(err.to_string().contains("llm-gateway.example.com"), "{err}");
}

#[test]
fn an_empty_variable_is_an_unset_one() {
    let creds = [
        (BEARER_TOKEN, ""),
        (ACCESS_KEY_ID, "AKIDEXAMPLE"),
        (SECRET_ACCESS_KEY, SECRET),
        (SESSION_TOKEN, " "),
        (REGION, ""),
        (DEFAULT_REGION, "ap-south-1"),
    ];
    let gateway = "https://llm-gateway.example.com/bedrock";
    let signer = signer(resolve("b", gateway, false, env(&creds)));
    assert_eq!(signer.region, "ap-south-1");
    assert_eq!(signer.credentials().session_token, None);
    let err = resolve(
        "b",
        AWS_URL,
        false,
        env(&[(BEARER_TOKEN, ""), (ACCESS_KEY_ID, "")]),
    )
    .unwrap_err();
    assert!(matches!(err, AwsAuthError::NoCredentials { .. }), "{err}");
}

#[test]
fn the_mock_needs_no_aws_account() {
    let signer = signer(resolve("b", "mock://turbo", true, env(&[])));
    assert_eq!(signer.region, MOCK_REGION);
    assert!(resolve("b", "mock://turbo", false, env(&[])).is_err());
}

#[test]
fn requests_are_signed_for_bedrock_at_the_time_given() {
    let signer = signer(resolve(
        "b",
        AWS_URL,
        false,
        env(&[
            (ACCESS_KEY_ID, "AKIDEXAMPLE"),
            (SECRET_ACCESS_KEY, SECRET),
            (SESSION_TOKEN, TOKEN),
        ]),
    ));
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::POST;
    request.headers_mut().insert(
        "host",
        http::HeaderValue::from_static("bedrock-runtime.us-west-2.amazonaws.com"),
    );
    request.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    // 2024-01-02T03:04:05Z
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645);
    let url = format!("{AWS_URL}/model/m%3A0/converse-stream");
    signer.sign(&mut request, &url, b"{}", at).unwrap();
    let auth = request.headers()["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
        ),
        "{auth}"
    );
    assert!(request.headers()["authorization"].is_sensitive());
    assert_eq!(request.headers()["x-amz-date"], "20240102T030405Z");
    assert_eq!(request.headers()["x-amz-security-token"], TOKEN);
    assert!(request.headers()["x-amz-security-token"].is_sensitive());
    // The same request a second later has another signature.
    let mut again = request.clone();
    signer
        .sign(&mut again, &url, b"{}", at + Duration::from_secs(1))
        .unwrap();
    assert_ne!(
        again.headers()["authorization"],
        request.headers()["authorization"]
    );
}

#[test]
fn debug_output_never_shows_the_secret_or_the_token() {
    let signer = signer(resolve(
        "b",
        AWS_URL,
        false,
        env(&[
            (ACCESS_KEY_ID, "AKIDEXAMPLE"),
            (SECRET_ACCESS_KEY, SECRET),
            (SESSION_TOKEN, TOKEN),
        ]),
    ));
    let shown = format!("{signer:?} {:?}", signer.credentials());
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
    let secrets: Vec<&str> = signer.credentials().secrets().collect();
    assert_eq!(secrets, [SECRET, TOKEN]);
}
