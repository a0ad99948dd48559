use super::*;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, std::env::VarError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    move |name| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(std::env::VarError::NotPresent)
    }
}

fn proxy_of(vars: &[(&str, &str)], https: bool, host: &str) -> Option<String> {
    Proxies::resolve(&ProxyChoice::Env, env(vars))
        .unwrap()
        .for_host(https, host)
        .unwrap()
        .map(|p| p.shown().to_string())
}

#[test]
fn variables_are_read_as_curl_reads_them() {
    let p = "http://p:3128";
    // http_proxy only in lower case.
    assert_eq!(proxy_of(&[("HTTP_PROXY", p)], false, "a"), None);
    assert_eq!(proxy_of(&[("http_proxy", p)], false, "a").unwrap(), p);
    // Lower case wins; upper case is read too.
    let both = [
        ("https_proxy", "http://low:1"),
        ("HTTPS_PROXY", "http://up:2"),
    ];
    assert_eq!(proxy_of(&both, true, "a").unwrap(), "http://low:1");
    assert_eq!(
        proxy_of(&[("HTTPS_PROXY", "http://up:2")], true, "a").unwrap(),
        "http://up:2"
    );
    // An empty value is unset.
    let empty = [("https_proxy", ""), ("HTTPS_PROXY", "http://up:2")];
    assert_eq!(proxy_of(&empty, true, "a").unwrap(), "http://up:2");
    // ALL_PROXY when the scheme's own is unset; the scheme's own wins.
    let all = [("ALL_PROXY", "http://all:3")];
    assert_eq!(proxy_of(&all, true, "a").unwrap(), "http://all:3");
    assert_eq!(proxy_of(&all, false, "a").unwrap(), "http://all:3");
    let mixed = [("all_proxy", "http://all:3"), ("https_proxy", p)];
    assert_eq!(proxy_of(&mixed, true, "a").unwrap(), p);
    assert_eq!(proxy_of(&mixed, false, "a").unwrap(), "http://all:3");
    // The https proxy is not used for http and the other way round.
    assert_eq!(proxy_of(&[("https_proxy", p)], false, "a"), None);
    assert_eq!(proxy_of(&[("http_proxy", p)], true, "a"), None);
}

#[test]
fn a_proxy_url_without_scheme_or_port_is_curls_http_on_1080() {
    let proxy = ProxyUrl::parse("proxy.corp", "https_proxy").unwrap();
    assert_eq!((proxy.host(), proxy.port()), ("proxy.corp", 1080));
    assert_eq!(proxy.shown(), "http://proxy.corp:1080");
    assert_eq!(proxy.authorization(), None);
    let proxy = ProxyUrl::parse("HTTP://[::1]:3128/", "x").unwrap();
    assert_eq!((proxy.host(), proxy.port()), ("::1", 3128));
    assert_eq!(proxy.shown(), "http://[::1]:3128");
}

#[test]
fn credentials_are_used_and_never_shown() {
    let proxy = ProxyUrl::parse("http://al%40ce:s3cr%3At-pw@127.0.0.1:3128", "x").unwrap();
    // base64("al@ce:s3cr:t-pw")
    assert_eq!(proxy.authorization(), Some("Basic YWxAY2U6czNjcjp0LXB3"));
    assert_eq!(proxy.shown(), "http://al%40ce:REDACTED@127.0.0.1:3128");
    assert!(!format!("{proxy:?} {proxy}").contains("s3cr"));
    let secrets: Vec<&str> = proxy.secrets().collect();
    assert_eq!(secrets, ["s3cr:t-pw", "Basic YWxAY2U6czNjcjp0LXB3"]);
}

#[test]
fn bad_proxy_urls_are_refused_naming_the_variable_without_the_password() {
    for (url, says) in [
        ("socks5://u:hunter22@h:1080", "socks5:// proxy"),
        ("https://u:hunter22@h:443", "https:// proxy"),
        ("ftp://h", "scheme must be http"),
        ("http://u:hunter22@h:99999", "port `99999`"),
        ("http://u:hunter22@h:0", "port `0`"),
        ("http://u:hunter22@:8080", "no host"),
        (
            "http://u:hun/ter22@h:80",
            "write `@` as %40, `:` as %3A, `/` as %2F",
        ),
        ("http://u:h@u:n/ter22@h:80", "must be percent-encoded"),
        ("http://h:80/some/path", "no path"),
    ] {
        let err = Proxies::resolve(&ProxyChoice::Env, env(&[("HTTPS_PROXY", url)]))
            .unwrap()
            .for_host(true, "api.example.com")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("HTTPS_PROXY: "), "{url}: {err}");
        assert!(err.contains(says), "{url}: {err}");
        assert!(!err.contains("hunter22") && !err.contains("ter22"), "{err}");
        assert!(err.contains("help: "), "{err}");
    }
    let err = Proxies::resolve(&ProxyChoice::Url("socks5://h".into()), env(&[])).unwrap_err();
    assert!(err.to_string().starts_with("--proxy: "), "{err}");
}

#[test]
fn a_bad_variable_only_matters_when_it_is_used() {
    let proxies =
        Proxies::resolve(&ProxyChoice::Env, env(&[("https_proxy", "socks5://h")])).unwrap();
    assert_eq!(proxies.for_host(false, "a").unwrap(), None);
    assert!(proxies.for_host(true, "a").is_err());
    let exempt = [("https_proxy", "socks5://h"), ("no_proxy", "a")];
    let proxies = Proxies::resolve(&ProxyChoice::Env, env(&exempt)).unwrap();
    assert_eq!(proxies.for_host(true, "a").unwrap(), None);
}

#[test]
fn no_proxy_off_ignores_everything_and_an_explicit_proxy_still_honours_no_proxy() {
    let vars = [("https_proxy", "http://p:1"), ("http_proxy", "http://p:1")];
    let off = Proxies::resolve(&ProxyChoice::Off, env(&vars)).unwrap();
    assert_eq!(off.for_host(true, "a").unwrap(), None);
    assert_eq!(off.for_host(false, "a").unwrap(), None);
    let vars = [("https_proxy", "http://p:1"), ("NO_PROXY", "internal")];
    let explicit = Proxies::resolve(&ProxyChoice::Url("http://x:9".into()), env(&vars)).unwrap();
    assert_eq!(
        explicit.for_host(false, "a").unwrap().unwrap().shown(),
        "http://x:9"
    );
    assert_eq!(explicit.for_host(true, "a.internal").unwrap(), None);
}

#[test]
fn no_proxy_matches_as_curl_does() {
    let list =
        NoProxy::parse(" example.com, .corp.net ,10.0.0.0/8,::1, 192.168.1.5,host.local.,x:80");
    for host in [
        "example.com",
        "EXAMPLE.com",
        "www.example.com",
        "example.com.",
        "corp.net",
        "a.b.corp.net",
        "10.1.2.3",
        "::1",
        "[::1]",
        "192.168.1.5",
        "host.local",
    ] {
        assert!(list.exempts(host), "{host}");
    }
    for host in [
        "notexample.com",
        "example.com.org",
        "11.0.0.1",
        "192.168.1.6",
        "127.0.0.1",
        "localhost",
        "x",
        "::2",
    ] {
        assert!(!list.exempts(host), "{host}");
    }
    assert!(NoProxy::parse("*").exempts("anything"));
    assert!(NoProxy::parse(" * ").exempts("1.2.3.4"));
    // `*` among others is no wildcard (curl: only a lone `*`).
    assert!(!NoProxy::parse("*,a").exempts("b"));
    assert!(!NoProxy::parse("").exempts("a"));
    assert!(NoProxy::parse("127.0.0.0/8").exempts("127.0.0.1"));
    // curl reads `/0` as no prefix (its `cidr4_match` and `cidr6_match`, unit test 1614):
    // the address alone, not every address.
    assert!(!NoProxy::parse("127.0.0.2/0").exempts("127.0.0.1"));
    assert!(NoProxy::parse("127.0.0.2/0").exempts("127.0.0.2"));
    assert!(!NoProxy::parse("0.0.0.0/0").exempts("8.8.8.8"));
    assert!(!NoProxy::parse("::/0").exempts("::1"));
    assert!(NoProxy::parse("::1/0").exempts("::1"));
    assert!(!NoProxy::parse("10.0.0.0/33").exempts("10.0.0.1"));
    assert!(NoProxy::parse("fd00::/8").exempts("fd12::1"));
    // A name entry never matches an address, nor the other way round.
    assert!(!NoProxy::parse("1.2.3.4").exempts("1.2.3.4.example"));
}

#[test]
fn an_unencoded_password_is_told_to_be_percent_encoded_and_shown_redacted() {
    let err = ProxyUrl::parse("http://racer:p@ss:w/rd@127.0.0.1:18128", "HTTPS_PROXY")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "HTTPS_PROXY: `http://REDACTED@127.0.0.1:18128` is not a proxy URL: its user name or \
             password holds a character that must be percent-encoded"
        ),
        "{err}"
    );
    assert!(err.contains("`@` as %40, `:` as %3A, `/` as %2F"), "{err}");
    assert!(!err.contains("p@ss") && !err.contains("w/rd"), "{err}");
    // Encoded, the same password is taken as it was meant.
    let proxy = ProxyUrl::parse("http://racer:p%40ss%3Aw%2Frd@127.0.0.1:18128", "x").unwrap();
    let secrets: Vec<&str> = proxy.secrets().collect();
    assert_eq!(secrets[0], "p@ss:w/rd");
    // A path after the host is still called a path.
    let err = ProxyUrl::parse("http://u:pw@h:80/x", "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no path, query or fragment"), "{err}");
}
