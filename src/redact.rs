//! Redaction: which names look secret, and the credentials hidden inside ordinary values.
//!
//! Plain std Rust: it ships inside a size-tuned .wasm and runs for every entry of every request,
//! so no regex engine, and a value with nothing to mask is returned as it came, without copying.
//!
//! The rules follow what mature scrubbers match, read at their source:
//! - Spring Boot 2.x `Sanitizer`: keys ending in password, secret, key, token or containing
//!   credentials, and the password inside URI values
//!   (spring-projects/spring-boot `spring-boot-actuator/.../endpoint/Sanitizer.java`).
//! - Sentry's `DEFAULT_DENYLIST` for `EventScrubber` (password, passwd, secret, api_key, apikey,
//!   auth, credentials, mysql_pwd, privatekey, private_key, token, session, cookie, authorization,
//!   ...) (getsentry/sentry-python `sentry_sdk/scrubber.py`).
//! - Datadog: the agent's scrubber (password, pwd, token, jwt, secret, access_key, private_key
//!   keys; URI passwords, `Bearer` credentials, PEM blocks; DataDog/datadog-agent
//!   `pkg/util/scrubber/default.go`) and the tracers' obfuscator key regex (pass, pwd, secret,
//!   api/private/public/access key, token, signature, bearer, authorization, jwt, matched
//!   case-insensitively anywhere, hence also in camelCase names;
//!   `DD_APPSEC_OBFUSCATION_PARAMETER_KEY_REGEXP`).
//!
//! Where they differ, a name is split into words first, so that a marker must be a whole word
//! (`API_KEY`, not `MONKEY`) unless it is long enough that no ordinary word contains it
//! (`PGPASSWORD`). docs/redaction.md has the table of rules with examples.

use std::borrow::Cow;

/// The value shown in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// Words that mark a name as secret when a word of the name is exactly one of them.
/// Short markers are whole words only: as substrings they would catch `MONKEY`, `PATH`, `AUTHOR`.
const SECRET_WORDS: &[&str] = &[
    "key", "keys", "pat", "pwd", "pw", "pass", "psk", "dsn", "jwt", "jwk", "auth", "oauth", "sig",
    "salt", "creds",
];

/// Markers found anywhere inside a word (`PGPASSWORD`, `ACCESSTOKEN`, `SETCOOKIE`), unless the
/// word continues with one of the listed endings: `SECRETARY` and `TOKENIZER` are ordinary words.
const SECRET_SUBSTRINGS: &[(&str, &[&str])] = &[
    ("password", &[]),
    ("passwd", &[]),
    ("passphrase", &[]),
    ("passcode", &[]),
    ("secret", &["ary", "ariat"]),
    ("token", &["iz", "ise", "isa"]),
    ("credential", &[]),
    ("authorization", &[]),
    ("cookie", &[]),
    ("session", &[]),
    ("signature", &[]),
    ("bearer", &[]),
    ("apikey", &[]),
    ("privatekey", &[]),
    ("accesskey", &[]),
];

/// A last word that says the value tells where or how to find a secret, not the secret itself:
/// `DB_PASSWORD_FILE` is a path, `TOKEN_URL` an address, `SSH_AUTH_SOCK` a socket,
/// `SESSION_TIMEOUT` a duration. Values shown this way still go through [`mask_value`].
const INNOCENT_LAST_WORDS: &[&str] = &[
    "file", "path", "dir", "url", "uri", "endpoint", "host", "port", "addr", "address", "sock",
    "domain", "name", "prefix", "enabled", "disabled", "timeout", "ttl", "type",
];

/// HTTP authentication schemes kept readable in front of a masked credential (`Basic [redacted]`).
const AUTH_SCHEMES: &[&str] = &["basic", "bearer", "digest", "negotiate", "token"];

/// True when the name of an environment entry says its value is a secret.
///
/// The name is split into words at anything not a letter or digit, between letters and digits,
/// and at camelCase boundaries (`dbPassword`, `APIKey`, `OAuth2Token`), then matched against the
/// markers above.
pub fn is_secret_name(name: &str) -> bool {
    // `PWD` alone is the working directory every POSIX shell exports, in nearly every process
    // environment, and never a password. `MYSQL_PWD`, `DB_PWD` still are; so is `PWD=` inside a
    // value, where it is ODBC's password key.
    !name.eq_ignore_ascii_case("PWD") && looks_secret(name)
}

/// Masks the credentials inside a value and keeps the rest readable:
/// - the password in URI userinfo: `postgres://user:[redacted]@host/db`,
///   `redis://:[redacted]@host`;
/// - values of secret-named keys in `key=value` / `key: value` pairs: connection strings
///   (`Server=db;Password=[redacted];`), query strings, JSON, headers
///   (`Authorization: Basic [redacted]`);
/// - PEM private key blocks, whole: `[redacted]`;
/// - `Bearer` credentials: `Bearer [redacted]`.
///
/// A value with nothing to mask comes back borrowed, without allocating.
pub fn mask_value(value: &str) -> Cow<'_, str> {
    let mut spans = Vec::new();
    private_key_blocks(value, &mut spans);
    uri_passwords(value, &mut spans);
    secret_pairs(value, &mut spans);
    bearer_credentials(value, &mut spans);
    if spans.is_empty() {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut copied = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some((start, mut end)) = spans.next() {
        // Overlapping rules (a pair's value that is also a Bearer credential) mask once.
        while let Some(&(next_start, next_end)) = spans.peek() {
            if next_start > end {
                break;
            }
            end = end.max(next_end);
            spans.next();
        }
        out.push_str(&value[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&value[copied..]);
    Cow::Owned(out)
}

/// The word rules without `is_secret_name`'s exception for the shell's `PWD`.
fn looks_secret(name: &str) -> bool {
    let mut secret = false;
    let mut last = "";
    for word in words(name) {
        secret |= is_secret_word(word);
        last = word;
    }
    secret
        && !INNOCENT_LAST_WORDS
            .iter()
            .any(|w| last.eq_ignore_ascii_case(w))
}

fn is_secret_word(word: &str) -> bool {
    // Every marker is lower-case ASCII: fold the word's ASCII letters once (what eq_ignore_ascii_case
    // would do at each comparison), then compare bytes. This runs for every name of every request.
    // Names are short: a word that does not fit the buffer (no marker is that long a word) is folded on the heap.
    let mut buffer = [0u8; 64];
    let folded;
    let word = match buffer.get_mut(..word.len()) {
        Some(lower) => {
            lower.copy_from_slice(word.as_bytes());
            lower.make_ascii_lowercase();
            &*lower
        }
        None => {
            folded = word.to_ascii_lowercase();
            folded.as_bytes()
        }
    };
    SECRET_WORDS.iter().any(|w| word == w.as_bytes())
        || SECRET_SUBSTRINGS
            .iter()
            .any(|(marker, unless)| contains_marker(word, marker.as_bytes(), unless))
}

/// True when the lower-cased `word` contains `marker` not followed by any of `unless`.
fn contains_marker(word: &[u8], marker: &[u8], unless: &[&str]) -> bool {
    word.windows(marker.len()).enumerate().any(|(i, window)| {
        // The first byte alone rules out nearly every position, without a call to compare the rest.
        window[0] == marker[0]
            && window == marker
            && !unless
                .iter()
                .any(|end| word[i + marker.len()..].starts_with(end.as_bytes()))
    })
}

/// The words of a name (see [`is_secret_name`]), as slices of it.
fn words(name: &str) -> Words<'_> {
    Words { rest: name }
}

struct Words<'a> {
    rest: &'a str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Upper,
    /// Lower case, and letters without case (`日本`).
    Lower,
    Digit,
    Separator,
}

fn kind(c: char) -> Kind {
    if !c.is_alphanumeric() {
        Kind::Separator
    } else if c.is_numeric() {
        Kind::Digit
    } else if c.is_uppercase() {
        Kind::Upper
    } else {
        Kind::Lower
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest.trim_start_matches(|c: char| !c.is_alphanumeric());
        self.rest = text;
        let mut chars = text.char_indices().peekable();
        let mut previous = kind(chars.next()?.1);
        let mut end = text.len();
        while let Some((i, c)) = chars.next() {
            let current = kind(c);
            let boundary = match (previous, current) {
                (_, Kind::Separator) => true,
                (Kind::Digit, Kind::Upper | Kind::Lower)
                | (Kind::Upper | Kind::Lower, Kind::Digit) => true,
                (Kind::Lower, Kind::Upper) => true,
                // `APIKey`: the last capital of a run starts a word when a lower case follows.
                (Kind::Upper, Kind::Upper) => {
                    chars.peek().map(|&(_, n)| kind(n)) == Some(Kind::Lower)
                }
                _ => false,
            };
            if boundary {
                end = i;
                break;
            }
            previous = current;
        }
        self.rest = &text[end..];
        Some(&text[..end])
    }
}

/// Records `start..end` of `value` for masking, in order, unless it is empty or already masked.
fn push_span(value: &str, spans: &mut Vec<(usize, usize)>, start: usize, end: usize) {
    if start < end && &value[start..end] != REDACTED {
        // A value has a few spans at most; inserting in place spares the .wasm a sort.
        let at = spans.partition_point(|&span| span < (start, end));
        spans.insert(at, (start, end));
    }
}

/// Where `needle` first occurs in `text`. A plain scan: `str::find` with a string pattern brings
/// its Two-Way searcher, several KB of .wasm, to search values of a few dozen bytes.
fn find(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes()
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
}

/// PEM blocks whose label says private key (RFC 7468: `PRIVATE KEY`, `RSA PRIVATE KEY`,
/// `OPENSSH PRIVATE KEY`, `PGP PRIVATE KEY BLOCK`), from BEGIN through END, or to the end of a
/// value cut short. Certificates and public keys are public and stay readable.
fn private_key_blocks(value: &str, spans: &mut Vec<(usize, usize)>) {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    const DASHES: &str = "-----";
    let mut from = 0;
    while let Some(found) = find(&value[from..], BEGIN) {
        let begin = from + found;
        let label_start = begin + BEGIN.len();
        let Some(label_len) = find(&value[label_start..], DASHES) else {
            return;
        };
        let body = label_start + label_len + DASHES.len();
        if find(&value[label_start..label_start + label_len], "PRIVATE").is_none() {
            from = body;
            continue;
        }
        let end = find(&value[body..], END)
            .map(|e| body + e + END.len())
            .and_then(|e| find(&value[e..], DASHES).map(|d| e + d + DASHES.len()))
            .unwrap_or(value.len());
        push_span(value, spans, begin, end);
        from = end;
    }
}

/// The password of every `scheme://user:password@host` in the value. Only a password is a
/// secret here: a user alone (`ssh://git@host`, `postgres://app@db/app`) stays, as it does for
/// Spring Boot's and Datadog's scrubbers.
fn uri_passwords(value: &str, spans: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(found) = find(&value[from..], "://") {
        let start = from + found + "://".len();
        let rest = &value[start..];
        // One URI runs to the next one (in `tcp://h1:80,tcp://u:p@h2` the first has no password),
        // a space or a quote.
        let len = find(rest, "://").unwrap_or(rest.len());
        let len = rest[..len]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(len);
        if let Some((pw_start, pw_end)) = password_in(&rest[..len]) {
            push_span(value, spans, start + pw_start, start + pw_end);
        }
        from = start;
    }
}

/// Where the password is in what follows `://`, if there is one.
fn password_in(uri: &str) -> Option<(usize, usize)> {
    // RFC 3986: the authority ends at the first '/', '?' or '#'; its userinfo runs to its last '@'
    // (a raw '@' in a password is common enough).
    let authority_end = uri.find(['/', '?', '#']).unwrap_or(uri.len());
    let at = match uri[..authority_end].rfind('@') {
        Some(at) => at,
        // No '@' there: it may still be `user:pa/ss@host`, a password with a raw '/'.
        None => authority_end + uri[authority_end..].find('@')?,
    };
    let colon = uri[..at].find(':')?;
    if uri[..colon].contains(['/', '?', '#', '[', ']']) {
        // `host/path?mail=a:b@c` or an IPv6 host: the '@' is not the end of a userinfo.
        return None;
    }
    if at > authority_end {
        // `host:8080/p?mail=a@b`: digits alone between ':' and '/' are a port, not a password.
        let port = &uri[colon + 1..authority_end];
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some((colon + 1, at))
}

/// Characters a key in a `key=value` list cannot contain: they end the previous entry.
fn ends_key(c: char) -> bool {
    c.is_whitespace() || matches!(c, ';' | '&' | ',' | '?' | '{' | '[' | '=')
}

/// The values of secret-named keys in `key=value` and `key: value` pairs (connection strings,
/// query strings, command-line flags, JSON, HTTP headers). The key is judged by the same words as
/// names are; a value runs to `;` or the end of the line, or is quoted (`"..."`, `'...'`, ODBC
/// `{...}`). A value running on past a `&` or `,` is masked with it: too much rather than too
/// little.
fn secret_pairs(value: &str, spans: &mut Vec<(usize, usize)>) {
    let bytes = value.as_bytes();
    let mut keys_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let separator = match bytes[i] {
            b'=' => true,
            // `key: value` and JSON's `"key":"value"`, but not `https://` or `host:port`.
            b':' => matches!(bytes.get(i + 1), Some(b' ' | b'\t' | b'"' | b'\'')),
            _ => false,
        };
        if separator {
            let key = key_before(value, keys_from, i);
            if looks_secret(key) {
                // In `-H 'Authorization: Bearer x'` the pair ends where its quotes do.
                let enclosing = key.chars().next().filter(|&q| matches!(q, '"' | '\''));
                let (start, end, next) = value_after(value, i + 1, enclosing);
                push_span(value, spans, start, end);
                keys_from = next;
                i = next;
                continue;
            }
        }
        i += 1;
    }
}

/// The key that ends at `end`: the text after the last [`ends_key`] character, looking back no
/// further than `floor` nor than a key could be long (which keeps a long value linear).
fn key_before(value: &str, floor: usize, end: usize) -> &str {
    const LONGEST_KEY: usize = 128;
    let mut start = floor.max(end.saturating_sub(LONGEST_KEY));
    while !value.is_char_boundary(start) {
        start += 1;
    }
    value[start..end]
        .trim_end()
        .rsplit(ends_key)
        .next()
        .unwrap_or("")
}

/// The masked part of the value that starts at `from`, and where scanning goes on. An unquoted
/// value also ends at `enclosing`, the quote around the whole pair.
fn value_after(value: &str, from: usize, enclosing: Option<char>) -> (usize, usize, usize) {
    let bytes = value.as_bytes();
    let mut start = from;
    while matches!(bytes.get(start), Some(b' ' | b'\t')) {
        start += 1;
    }
    match bytes.get(start) {
        Some(&quote @ (b'"' | b'\'')) => {
            let mut j = start + 1;
            while j < bytes.len() {
                if bytes[j] == b'\\' {
                    j += 2;
                } else if bytes[j] == quote && j > start + 1 && bytes.get(j + 1) == Some(&quote) {
                    // A doubled quote in a quoted value (`"a""b"`), as connection strings write it.
                    j += 2;
                } else if bytes[j] == quote {
                    return (start + 1, j, j + 1);
                } else {
                    j += 1;
                }
            }
            (start + 1, bytes.len(), bytes.len())
        }
        Some(b'{') => {
            // ODBC braces; `}}` is a literal `}`.
            let mut j = start + 1;
            while j < bytes.len() {
                if bytes[j] == b'}' && bytes.get(j + 1) == Some(&b'}') {
                    j += 2;
                } else if bytes[j] == b'}' {
                    return (start + 1, j, j + 1);
                } else {
                    j += 1;
                }
            }
            (start + 1, bytes.len(), bytes.len())
        }
        _ => {
            let end = value[start..]
                .find(|c| matches!(c, ';' | '\n' | '\r') || Some(c) == enclosing)
                .map_or(value.len(), |e| start + e);
            let text = &value[start..end];
            let scheme_len = text.find([' ', '\t']).filter(|&n| {
                AUTH_SCHEMES
                    .iter()
                    .any(|s| text[..n].eq_ignore_ascii_case(s))
            });
            let start = match scheme_len {
                Some(n) => start + n + (text[n..].len() - text[n..].trim_start().len()),
                None => start,
            };
            (
                start,
                start.max(end - (text.len() - text.trim_end().len())),
                end,
            )
        }
    }
}

/// The credential after `Bearer ` anywhere in the value (an `Authorization` header, a curl line).
fn bearer_credentials(value: &str, spans: &mut Vec<(usize, usize)>) {
    const BEARER: &[u8] = b"bearer";
    let bytes = value.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i..].len() <= BEARER.len()
            || !bytes[i..i + BEARER.len()].eq_ignore_ascii_case(BEARER)
            || !matches!(bytes[i + BEARER.len()], b' ' | b'\t')
            || value[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        let after = &value[i + BEARER.len()..];
        let start = value.len() - after.trim_start().len();
        let end = value[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
            .map_or(value.len(), |e| start + e);
        push_span(value, spans, start, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names whose values must never be shown; every one named in issue 10 is here.
    const SECRET_NAMES: &[&str] = &[
        // issue 10: shown in clear before
        "dbPassword",
        "accessToken",
        "ClientSecret",
        "PGPASSWORD",
        "MYSQL_PWD",
        "PASSWORD1",
        "AUTHORIZATION",
        "COOKIE",
        "SESSION_ID",
        "JWT",
        "GITHUB_PAT",
        "SENTRY_DSN",
        // issue 10: caught before, must stay caught
        "DB_PASSWORD",
        "api_key",
        "GITHUB_TOKEN",
        "Client-Secret",
        "AWS_CREDENTIALS",
        "KEY",
        "ssh.private.key",
        "AWS_SECRET_ACCESS_KEY",
        "STRIPE_API_KEY",
        // camelCase, PascalCase, acronyms, digits
        "APIKey",
        "apiKey",
        "OAuth2Token",
        "oauthToken",
        "clientSecret",
        "refreshToken",
        "privateKey",
        "sessionId",
        "xApiKey",
        "githubPat",
        "sentryDsn",
        "mysqlPwd",
        "basicAuth",
        "tlsKey",
        "jwtSigningKey",
        "S3_SECRET",
        "K8S_TOKEN",
        "AES256KEY",
        "PASSWORD_2",
        "Password",
        "password",
        // joined words, upper case
        "APIKEY",
        "PRIVATEKEY",
        "ACCESSTOKEN",
        "CLIENTSECRET",
        "GITHUBTOKEN",
        "SECRETKEY",
        "SETCOOKIE",
        "SESSIONID",
        "PASSWD",
        "PASSPHRASE",
        "CSRFTOKEN",
        // separators of every kind
        "db-password",
        "db.password",
        "X-API-KEY",
        "XSRF-TOKEN",
        "Proxy-Authorization",
        "set_cookie",
        "spring.datasource.password",
        // well-known variables
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AZURE_CLIENT_SECRET",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "NPM_TOKEN",
        "NODE_AUTH_TOKEN",
        "DOCKER_PASSWORD",
        "REGISTRY_AUTH",
        "SLACK_BOT_TOKEN",
        "TWILIO_AUTH_TOKEN",
        "DJANGO_SECRET_KEY",
        "SECRET_KEY_BASE",
        "RAILS_MASTER_KEY",
        "VAULT_TOKEN",
        "CONSUL_HTTP_TOKEN",
        "GPG_PASSPHRASE",
        "SSH_PRIVATE_KEY",
        "TLS_KEY",
        "OPENAI_API_KEY",
        "DD_API_KEY",
        "DD_APP_KEY",
        "NEW_RELIC_LICENSE_KEY",
        "MYSQL_ROOT_PASSWORD",
        "POSTGRES_PASSWORD",
        "MONGO_INITDB_ROOT_PASSWORD",
        "REDIS_PASS",
        "RABBITMQ_DEFAULT_PASS",
        "LDAP_BIND_PW",
        "SMTP_PASSWORD",
        "HTTP_AUTHORIZATION",
        "BASIC_AUTH",
        "AUTH",
        "BEARER_TOKEN",
        "WEBHOOK_SIGNATURE",
        "WEBHOOK_SECRET",
        "JWT_SECRET",
        "JWK",
        "ENCRYPTION_KEY",
        "WIFI_PSK",
        "PASSWORD_SALT",
        "AWS_CREDS",
        "AZURE_STORAGE_SAS_SIG",
        "SONAR_PASSCODE",
        "ADO_PAT",
        "DATABASE_DSN",
        "SECRETS",
        "API_KEYS",
        "GH_TOKENS",
        // usually harmless, redacted all the same: the price of hiding too much (docs/redaction.md)
        "MAX_TOKENS",
        "JWT_ISSUER",
        "AUTH0_CLIENT_ID",
    ];

    /// Names that must stay readable, among them every name the report always shows.
    const ORDINARY_NAMES: &[&str] = &[
        // the report's own names
        "PROD",
        "POD_NAME",
        "POD_NAMESPACE",
        "NODE_NAME",
        "POD_IP",
        "HOST_IP",
        "POD_UID",
        "SERVICE_ACCOUNT",
        "CPU_REQUEST_MILLICORES",
        "CPU_LIMIT_MILLICORES",
        "MEMORY_REQUEST_MIB",
        "MEMORY_LIMIT_MIB",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "HOSTNAME",
        // a process environment
        "PATH",
        "HOME",
        "PWD",
        "pwd",
        "OLDPWD",
        "LANG",
        "LC_ALL",
        "TERM",
        "USER",
        "LOGNAME",
        "SHELL",
        "TZ",
        "RUST_LOG",
        "OTEL_SERVICE_NAME",
        "SPIN_HTTP_LISTEN_ADDR",
        "ORACLE_SID",
        "SSH_AUTH_SOCK",
        "XDG_SESSION_TYPE",
        "DBUS_SESSION_BUS_ADDRESS",
        // markers inside longer words
        "MONKEY",
        "TURKEY",
        "KEYBOARD_LAYOUT",
        "KEYCLOAK_URL",
        "AUTHOR",
        "AUTHORS",
        "AUTHORITY",
        "TOKENIZER",
        "TOKENIZER_MODEL",
        "TOKENIZERS_PARALLELISM",
        "tokeniser",
        "SECRETARY",
        "SECRETARIAT_EMAIL",
        "PASSENGER_COUNT",
        "BYPASS_CACHE",
        "COMPASS",
        "PATCH_LEVEL",
        "SPATIAL_INDEX",
        "SIGNAL",
        "SALTSTACK_MASTER",
        // where or how to find a secret, not the secret
        "DB_PASSWORD_FILE",
        "PRIVATE_KEY_PATH",
        "TOKEN_URL",
        "OAUTH_TOKEN_ENDPOINT",
        "SESSION_TIMEOUT",
        "COOKIE_DOMAIN",
        "AUTH0_DOMAIN",
        "KEY_VAULT_NAME",
        "CACHE_KEY_PREFIX",
        "PASSWORD_AUTH_ENABLED",
        "SECRET_NAME",
        // values that may hold credentials go through mask_value instead
        "DATABASE_URL",
        "REDIS_URL",
        "CONNECTION_STRING",
    ];

    #[test]
    fn secret_looking_names_are_secret() {
        assert!(SECRET_NAMES.len() >= 80, "{}", SECRET_NAMES.len());
        let missed: Vec<_> = SECRET_NAMES.iter().filter(|n| !is_secret_name(n)).collect();
        assert!(missed.is_empty(), "shown in clear: {missed:?}");
    }

    #[test]
    fn ordinary_names_stay_readable() {
        assert!(ORDINARY_NAMES.len() >= 40, "{}", ORDINARY_NAMES.len());
        let hidden: Vec<_> = ORDINARY_NAMES
            .iter()
            .filter(|n| is_secret_name(n))
            .collect();
        assert!(hidden.is_empty(), "redacted: {hidden:?}");
    }

    #[test]
    fn names_split_at_separators_digits_and_camel_case() {
        for (name, expected) in [
            ("dbPassword", &["db", "Password"][..]),
            ("ClientSecret", &["Client", "Secret"]),
            ("PASSWORD1", &["PASSWORD", "1"]),
            ("APIKey", &["API", "Key"]),
            ("OAuth2Token", &["O", "Auth", "2", "Token"]),
            ("XMLHttpRequest", &["XML", "Http", "Request"]),
            ("ssh.private.key", &["ssh", "private", "key"]),
            ("__A--b..", &["A", "b"]),
            ("ÉCLAIR_clé", &["ÉCLAIR", "clé"]),
            ("日本KEY", &["日本", "KEY"]),
            ("", &[]),
            ("_-.", &[]),
        ] {
            assert_eq!(words(name).collect::<Vec<_>>(), expected, "{name:?}");
        }
    }

    /// (value, masked); a masked value equal to the value means nothing may be masked.
    const VALUES: &[(&str, &str)] = &[
        // URI userinfo
        ("postgres://user:pass@host/db", "postgres://user:[redacted]@host/db"),
        ("redis://:hunter2@host", "redis://:[redacted]@host"),
        ("redis://:hunter2@host:6379/0", "redis://:[redacted]@host:6379/0"),
        ("mysql://app:s3cr3t@db.internal:3306/app?ssl=true", "mysql://app:[redacted]@db.internal:3306/app?ssl=true"),
        ("postgres://u:p@[::1]:5432/db", "postgres://u:[redacted]@[::1]:5432/db"),
        ("postgres://u:p@[fe80::1%25eth0]:5432/db", "postgres://u:[redacted]@[fe80::1%25eth0]:5432/db"),
        ("mongodb://u:p@h1:27017,h2:27017/db?replicaSet=rs0", "mongodb://u:[redacted]@h1:27017,h2:27017/db?replicaSet=rs0"),
        ("amqp://a:b@h1,amqp://c:d@h2", "amqp://a:[redacted]@h1,amqp://c:[redacted]@h2"),
        ("tcp://h1:80,tcp://u:p@h2", "tcp://h1:80,tcp://u:[redacted]@h2"),
        ("postgres://user:p@ss@host/db", "postgres://user:[redacted]@host/db"),
        ("postgres://user:pa/ss@host/db", "postgres://user:[redacted]@host/db"),
        ("see https://u:p@h/x and ftp://v:q@g", "see https://u:[redacted]@h/x and ftp://v:[redacted]@g"),
        ("https://user@host/x", "https://user@host/x"),
        ("postgres://app@db/app", "postgres://app@db/app"),
        ("ssh://git@github.com:22/org/repo.git", "ssh://git@github.com:22/org/repo.git"),
        ("redis://user:@host", "redis://user:@host"),
        ("https://host:8443/path", "https://host:8443/path"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("http://[::1]:8080/a:b@c", "http://[::1]:8080/a:b@c"),
        ("http://host:8080/p?mail=a@b.example", "http://host:8080/p?mail=a@b.example"),
        ("https://host/p?x=a:b@c", "https://host/p?x=a:b@c"),
        ("file:///etc/hosts", "file:///etc/hosts"),
        // connection strings and other key=value lists
        ("Server=db;Database=app;User Id=sa;Password=hunter2;", "Server=db;Database=app;User Id=sa;Password=[redacted];"),
        ("Data Source=db; Password = hunter 2 ; Pooling=true", "Data Source=db; Password = [redacted] ; Pooling=true"),
        ("Host=db;Username=app;Password=\"a;b\";Port=5432", "Host=db;Username=app;Password=\"[redacted]\";Port=5432"),
        ("host=db password='it''s' port=5432", "host=db password='[redacted]' port=5432"),
        ("Driver={ODBC 18};Server=x;PWD={p;w}}d};UID=sa", "Driver={ODBC 18};Server=x;PWD={[redacted]};UID=sa"),
        ("AccountName=acct;AccountKey=abc+/==;EndpointSuffix=core.windows.net", "AccountName=acct;AccountKey=[redacted];EndpointSuffix=core.windows.net"),
        ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc=", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=[redacted]"),
        ("password=hunter2", "password=[redacted]"),
        (
            "token=abc; then https://u:p@h",
            "token=[redacted]; then https://u:[redacted]@h",
        ),
        ("TOKEN=abc\nUSER=bob", "TOKEN=[redacted]\nUSER=bob"),
        ("https://api.example/cb?access_token=abc", "https://api.example/cb?access_token=[redacted]"),
        ("https://acct.blob.example/c?sv=2020&sig=abc%3D", "https://acct.blob.example/c?sv=2020&sig=[redacted]"),
        ("--db-password=hunter2", "--db-password=[redacted]"),
        (r#"{"user":"bob","password":"x\"y","n":1}"#, r#"{"user":"bob","password":"[redacted]","n":1}"#),
        (r#"{"apiKey": "abc", "region": "eu"}"#, r#"{"apiKey": "[redacted]", "region": "eu"}"#),
        ("password_file=/run/secrets/db", "password_file=/run/secrets/db"),
        ("service.name=envapp,deployment.environment=dev", "service.name=envapp,deployment.environment=dev"),
        ("-Dfile.encoding=UTF-8 -Xmx1g", "-Dfile.encoding=UTF-8 -Xmx1g"),
        // HTTP credentials
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [redacted]"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"),
        ("x-api-key: abc123", "x-api-key: [redacted]"),
        ("Bearer abc", "Bearer [redacted]"),
        ("curl -H 'Authorization: bearer abc' https://h", "curl -H 'Authorization: bearer [redacted]' https://h"),
        ("Cookie: sid=abc; theme=dark", "Cookie: [redacted]; theme=dark"),
        ("Content-Type: application/json", "Content-Type: application/json"),
        ("auth:8080,web:80", "auth:8080,web:80"),
        ("bearer", "bearer"),
        ("forbearer abc", "forbearer abc"),
        // PEM
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK=\n-----END RSA PRIVATE KEY-----",
            "[redacted]",
        ),
        (
            "key:\n-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\nafter",
            "key:\n[redacted]\\nafter",
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", "[redacted]"),
        (
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        ),
        // plain values
        ("", ""),
        ("hello", "hello"),
        ("true", "true"),
        ("/usr/local/bin:/usr/bin:/bin", "/usr/local/bin:/usr/bin:/bin"),
        ("en_US.UTF-8", "en_US.UTF-8"),
        ("10.42.0.7", "10.42.0.7"),
        ("password", "password"),
        ("12:30: lunch", "12:30: lunch"),
        ("ünïcödé 🔑 = ok", "ünïcödé 🔑 = ok"),
        ("[redacted]", "[redacted]"),
    ];

    #[test]
    fn credentials_inside_values_are_masked_and_the_rest_kept() {
        for (value, expected) in VALUES {
            assert_eq!(mask_value(value), *expected, "{value:?}");
        }
    }

    #[test]
    fn values_with_nothing_to_mask_are_borrowed() {
        for (value, expected) in VALUES {
            let masked = mask_value(value);
            assert_eq!(
                matches!(masked, Cow::Borrowed(_)),
                value == expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn masking_twice_changes_nothing_more() {
        for (value, _) in VALUES {
            let once = mask_value(value).into_owned();
            assert_eq!(mask_value(&once), once.as_str(), "{value:?}");
        }
    }

    /// The tables of docs/redaction.md: every name in a "Redacted" cell is secret, every name in a
    /// "Kept" cell is not, every "Before" value masks to its "After" (cells with `…` are abridged).
    #[test]
    fn the_examples_in_the_docs_hold() {
        const DOC: &str = include_str!("../docs/redaction.md");
        let mut header: Vec<&str> = Vec::new();
        let mut checked = 0;
        for line in DOC.lines() {
            if !line.starts_with('|') {
                header.clear();
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if header.is_empty() {
                header = cells;
                continue;
            }
            let code = |cell: &str| -> Vec<String> {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|c| !c.contains('…'))
                    .map(str::to_owned)
                    .collect()
            };
            match header.as_slice() {
                ["Rule", "Redacted", "Kept"] => {
                    for name in code(cells[1]) {
                        assert!(is_secret_name(&name), "docs say redacted: {name}");
                        checked += 1;
                    }
                    for name in code(cells[2]) {
                        assert!(!is_secret_name(&name), "docs say kept: {name}");
                        checked += 1;
                    }
                }
                ["What", "Before", "After"] => {
                    if let ([before], [after]) = (&code(cells[1])[..], &code(cells[2])[..]) {
                        assert_eq!(mask_value(before), after.as_str(), "docs: {before}");
                        checked += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(
            checked >= 60,
            "only {checked} examples found in docs/redaction.md"
        );
    }

    /// Pieces whose every concatenation of up to three must not panic: multi-byte characters
    /// next to every delimiter the rules look for, and half-finished patterns.
    const PIECES: &[&str] = &[
        "",
        "a",
        "Z",
        "7",
        "_",
        "-",
        ".",
        ":",
        "/",
        "@",
        "=",
        ";",
        "&",
        "?",
        "\"",
        "'",
        "\\",
        "{",
        "}",
        "[",
        "]",
        " ",
        "\n",
        "é",
        "日",
        "🔑",
        "\u{3000}",
        "ǅ",
        "://",
        "-----BEGIN PRIVATE KEY-----",
        "-----END ",
        "-----",
        "Bearer ",
        "Basic ",
        "Password",
        "token",
        "KEY",
        "PWD",
    ];

    #[test]
    fn no_input_makes_either_function_panic() {
        let mut inputs: Vec<String> = vec![
            "a".repeat(100_000),
            "aB1_".repeat(25_000),
            "_".repeat(100_000),
            "é".repeat(50_000),
            "🔑=".repeat(30_000),
            "password=".repeat(10_000),
            "://u:p@".repeat(10_000),
            "\"".repeat(10_000),
            "Bearer ".repeat(10_000),
            "-----BEGIN PRIVATE KEY-----".repeat(1_000),
            "x:'".repeat(3_000),
            "é:\"".repeat(3_000),
        ];
        for a in PIECES {
            for b in PIECES {
                for c in PIECES {
                    inputs.push(format!("{a}{b}{c}"));
                }
            }
        }
        for input in &inputs {
            is_secret_name(input);
            let masked = mask_value(input);
            // Borrowed exactly when nothing changed.
            assert_eq!(
                matches!(masked, Cow::Owned(_)),
                masked != input.as_str(),
                "{input:?}"
            );
        }
    }
}
