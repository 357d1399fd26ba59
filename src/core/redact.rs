//! The one redactor: no credential-shaped text leaves rbtui in clear, even
//! when a platform puts one in an error message or a crash log. Applied to
//! every entry of the note, the Activity pane, evidence files, exports and
//! posted text. Shapes: `key = value` and `key: value` in any spacing and
//! quoting for secret-named keys, headers that carry credentials, URL
//! userinfo and secret-named query parameters, `--password x` flags, and
//! tokens recognisable by their form (JWT, GitHub, GitLab, Slack, Stripe,
//! AWS key ids, PEM private keys).

use regex::Regex;
use std::sync::LazyLock;

const HIDDEN: &str = "[REDACTED]";

/// Key names that hold secrets (matched anywhere in the key). Headers
/// (Authorization, Cookie) have their own rule: their value has spaces.
const SECRET_KEY: &str = r"[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|credential|auth[_\-]?token|session[_\-]?id)[A-Za-z0-9_.\-]*";

struct Rule {
    re: Regex,
    /// The replacement, `$name` groups kept around the hidden value.
    with: &'static str,
}

fn rule(re: &str, with: &'static str) -> Rule {
    Rule {
        re: Regex::new(re).expect("a redaction rule compiles"),
        with,
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // PEM private keys, whole blocks (across lines).
        rule(
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
            "[REDACTED PRIVATE KEY]",
        ),
        // Headers whose whole value is a credential (to the end of line),
        // keeping the scheme word of an Authorization header.
        rule(
            r"(?im)(?P<k>\b(?:proxy-)?authorization|\bset-cookie|\bcookie|\bx-api-key|\bx-auth-token|\bprivate-token)(?P<s>[ \t]*[:=][ \t]*)(?:(?P<w>Bearer|Basic|Token|Digest)[ \t]+)?[^\r\n]+",
            "$k$s$w [REDACTED]",
        ),
        // URL userinfo: scheme://user:PASSWORD@host.
        rule(
            r"(?i)(?P<a>\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+(?P<b>@)",
            "$a[REDACTED]$b",
        ),
        // Secret-named query parameters.
        rule(
            r"(?i)(?P<a>[?&](?:[a-z0-9_\-]*(?:token|password|passwd|secret|api[_\-]?key|apikey|signature|credential)[a-z0-9_\-]*|sig|key)=)[^&\s#]+",
            "$a[REDACTED]",
        ),
        // Command-line flags: --password x, --token=x, -p is too common.
        rule(
            r"(?i)(?P<a>--(?:[a-z0-9\-]*(?:password|passwd|token|secret|api-key|apikey)[a-z0-9\-]*)(?:=|[ \t]+))[^\s]+",
            "$a[REDACTED]",
        ),
        // key = value / key: value / "key": "value", any spacing/quoting.
        rule(
            &format!(
                r#"(?i)(?P<k>["']?{SECRET_KEY}["']?)(?P<s>[ \t]*[:=][ \t]*)(?P<q>["']?)[^"'\s,;)}}\[\]]+"#
            ),
            "$k$s$q[REDACTED]",
        ),
        // Bearer/Basic credentials standing alone.
        rule(
            r"(?P<w>\b(?:Bearer|Basic))[ \t]+[A-Za-z0-9\-._~+/]{8,}=*",
            "$w [REDACTED]",
        ),
        // Tokens by their shape.
        rule(
            r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+=*",
            HIDDEN,
        ),
        rule(
            r"\b(?:gh[pousr]_|github_pat_|glpat-|xox[bpasr]-|sk_live_|rk_live_|sk_test_|rk_test_)[A-Za-z0-9_\-]{16,}",
            HIDDEN,
        ),
        rule(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", HIDDEN),
    ]
});

/// Every rule at once: one scan says whether `s` needs redacting at all
/// (the screen asks this of every row of every frame).
static ANY: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSet::new(RULES.iter().map(|r| r.re.as_str())).expect("the rules compile as a set")
});

/// Whether any part of `s` is credential-shaped.
pub fn any(s: &str) -> bool {
    ANY.is_match(s)
}

/// The byte ranges of `s` that [`redact`] hides (each rule's match less
/// the groups its replacement keeps), for a place that cannot change the
/// text's length: the drawn screen masks these cells where they stand.
pub fn spans(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for r in RULES.iter() {
        let kept: Vec<&str> = r
            .with
            .split('$')
            .skip(1)
            .map(|t| {
                t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("")
            })
            .collect();
        for c in r.re.captures_iter(s) {
            let Some(m) = c.get(0) else { continue };
            let mut keep: Vec<std::ops::Range<usize>> = kept
                .iter()
                .filter_map(|k| c.name(k))
                .map(|g| g.range())
                .collect();
            keep.sort_by_key(|g| g.start);
            let mut at = m.start();
            for g in keep {
                if g.start > at {
                    out.push(at..g.start);
                }
                at = at.max(g.end);
            }
            if at < m.end() {
                out.push(at..m.end());
            }
        }
    }
    out
}

/// `s` with every credential-shaped part replaced by `[REDACTED]`.
pub fn redact(s: &str) -> String {
    let mut out = s.to_string();
    for r in RULES.iter() {
        if r.re.is_match(&out) {
            out = r.re.replace_all(&out, r.with).into_owned();
        }
    }
    // "$w [REDACTED]" where no scheme word stood leaves a double space.
    out.replace("  [REDACTED]", " [REDACTED]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each shape the note, the Activity pane or a crash log carried in
    /// clear, with the text around it kept.
    #[test]
    fn the_shapes_seen_in_clear_are_hidden() {
        let cases = [
            ("db password = hunter2x now", "hunter2x"),
            (r#"{"password": "hunter2x", "user": "app"}"#, "hunter2x"),
            (
                "aws_secret_access_key = wJalrXUtnFEMIK7MDENG",
                "wJalrXUtnFEMIK7MDENG",
            ),
            (
                "dial postgres://app:PASSW0RDx@db:5432/shop failed",
                "PASSW0RDx",
            ),
            ("client_secret: c1ientS3cret", "c1ientS3cret"),
            (
                "charge with sk_live_51HxYzAbCdEfGhIjKlMn",
                "sk_live_51HxYzAbCdEfGhIjKlMn",
            ),
            ("Cookie: session=abc123def; theme=dark", "abc123def"),
            ("x-api-key: k3yk3yk3y", "k3yk3yk3y"),
            ("run mysql --password s3cretpw -h db", "s3cretpw"),
            (
                "GET https://probe.example/health?token=t0k3nvalue&x=1",
                "t0k3nvalue",
            ),
            ("Authorization: Bearer abcdefghijkl", "abcdefghijkl"),
            ("failed (token=abc123xyz): retry", "abc123xyz"),
        ];
        for (text, secret) in cases {
            let r = redact(text);
            assert!(!r.contains(secret), "{secret} survived: {r}");
            assert!(r.contains("[REDACTED]"), "{r}");
        }
        // What surrounds a secret stays, `):` included.
        assert_eq!(
            redact("failed (token=abc123xyz): retry"),
            "failed (token=[REDACTED]): retry"
        );
        assert_eq!(
            redact("Authorization: Bearer abcdefghijkl"),
            "Authorization: Bearer [REDACTED]"
        );
        assert_eq!(
            redact("dial postgres://app:PASSW0RDx@db:5432/shop failed"),
            "dial postgres://app:[REDACTED]@db:5432/shop failed"
        );
        let pem = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter";
        assert_eq!(redact(pem), "key:\n[REDACTED PRIVATE KEY]\nafter");
    }

    /// Ordinary operator text is not touched.
    #[test]
    fn ordinary_text_stays() {
        for t in [
            "image sha256:0123456789abcdef0123456789abcdef AKIA ghp_short",
            "author: Alice <alice@acme.net>, 2026-11-22T03:20:00Z: Revert",
            "check `permissions`: the platform grants patch deployments.apps/web",
            "rolled back to 41 (a1b2c3d): OutOfSync, Healthy",
            "https://github.com/acme/shop-config.git at HEAD",
        ] {
            assert_eq!(redact(t), t);
        }
    }

    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9]{10,24}".prop_map(|s| format!("Q{s}"))
    }

    fn context() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("password = {}"),
            Just("PASSWORD={}"),
            Just("\"password\": \"{}\""),
            Just("'db_password': '{}'"),
            Just("aws_secret_access_key = {}"),
            Just("client_secret: {}"),
            Just("api_key={}"),
            Just("X-Api-Key: {}"),
            Just("Cookie: sid={}; path=/"),
            Just("Authorization: Basic {}"),
            Just("Bearer {}"),
            Just("redis://default:{}@cache:6379"),
            Just("https://h/p?access_token={}&a=b"),
            Just("--password {}"),
            Just("--token={}"),
            Just("token: {}"),
            Just("(secret={}):"),
        ]
        .prop_map(str::to_string)
    }

    /// The spans hide exactly what `redact` replaces: masking them leaves
    /// no secret, and the kept words (key, separator, scheme) stand.
    #[test]
    fn the_spans_are_what_redact_hides() {
        let t = "a password = hunter2 b Authorization: Bearer abcdefgh12 c postgres://u:pw9@h";
        let mut masked: Vec<char> = t.chars().collect();
        for r in spans(t) {
            for i in r {
                masked[i] = '•';
            }
        }
        let m: String = masked.into_iter().collect();
        assert_eq!(
            m,
            "a password = ••••••• b Authorization: Bearer••••••••••••••••••••••••••••••••"
        );
        assert!(spans("nothing here").is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]
        /// A generated secret in a generated context, with words around
        /// it: the secret never survives and the words do.
        #[test]
        fn no_generated_secret_survives(s in secret(), ctx in context(), before in "[a-z]{3,8}", after in "[a-z]{3,8}") {
            let text = format!("{before} {} {after}", ctx.replace("{}", &s));
            let r = redact(&text);
            prop_assert!(!r.contains(&s), "{} survived in {:?} -> {:?}", s, text, r);
            let mut masked = text.clone().into_bytes();
            for sp in spans(&text) {
                masked[sp].fill(b'*');
            }
            let masked = String::from_utf8_lossy(&masked);
            prop_assert!(!masked.contains(&s), "{} survived the spans: {:?}", s, masked);
            prop_assert!(masked.starts_with(&before), "{:?}", masked);
            prop_assert!(r.starts_with(&before), "{:?}", r);
            prop_assert!(r.contains(&after) || ctx.starts_with("Cookie") || ctx.starts_with("Authorization") || ctx.starts_with("X-Api"), "{:?}", r);
        }
    }
}
