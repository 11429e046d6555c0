//! UAPI and API 2 over HTTPS, spoken by curl against a certificate made here.

mod common;

use std::time::Duration;

use common::{basic, curl, raw_http, Daemon, Scratch};

const UAPI_OK: &str =
    r#"{"data":null,"errors":null,"messages":null,"metadata":{},"status":1,"warnings":null}"#;
const ACCESS_DENIED: &str = r#"{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}"#;
const DELAY: Duration = Duration::from_millis(200);

fn https_daemon(scratch: &Scratch, extra: &[&str]) -> (Daemon, String) {
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend(extra);
    let daemon = Daemon::start_https(scratch, "first", &args);
    let base = format!("https://127.0.0.1:{}", daemon.https.unwrap().port());
    (daemon, base)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

#[test]
fn self_service_changes_only_the_logged_in_account() {
    let scratch = Scratch::new();
    let (daemon, base) = https_daemon(&scratch, &[]);
    let path = "/execute/Email/passwd_pop";

    // Roundcube's form: local part in `email`, Basic with the full address.
    let answer = curl(
        &base,
        path,
        &[
            "-u",
            "alice@example.com:alice-old",
            "--data-urlencode",
            "email=alice",
            "--data-urlencode",
            "password=new one&=+",
        ],
    );
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, UAPI_OK),
        "{answer:?}"
    );
    assert!(scratch.accepts("alice@example.com", "new one&=+"));
    assert!(!scratch.accepts("alice@example.com", "alice-old"));

    // GET with a query string, full address and explicit domain.
    let answer = curl(
        &base,
        &format!("{path}?email=carol%40example.org&domain=example.org&password=c2"),
        &[
            "-H",
            &format!("Authorization: {}", basic("carol@example.org", "carol-old")),
        ],
    );
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, UAPI_OK),
        "{answer:?}"
    );
    assert!(scratch.accepts("carol@example.org", "c2"));

    // Another account, even in the same domain, is refused and untouched.
    let before = scratch.shadow("example.com");
    for (email, domain) in [
        ("bob", None),
        ("bob@example.com", None),
        ("alice", Some("example.org")),
    ] {
        let mut args = vec!["-u", "alice@example.com:new one&=+", "--data-urlencode"];
        let email = format!("email={email}");
        args.push(&email);
        let domain = domain.map(|d| format!("domain={d}"));
        if let Some(domain) = &domain {
            args.extend(["--data-urlencode", domain]);
        }
        args.extend(["--data-urlencode", "password=stolen"]);
        let answer = curl(&base, path, &args);
        let body = json(&answer.body);
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(body["status"], 0, "{answer:?}");
        assert!(
            body["errors"][0].as_str().unwrap().contains("only"),
            "{answer:?}"
        );
    }
    assert_eq!(scratch.shadow("example.com"), before);
    assert!(!scratch.accepts("carol@example.org", "stolen"));

    // A bad new password is the library's clear reason, in errors[0].
    let long = format!("password={}", "x".repeat(600));
    let answer = curl(
        &base,
        path,
        &[
            "-u",
            "alice@example.com:new one&=+",
            "-d",
            "email=alice",
            "-d",
            &long,
        ],
    );
    let body = json(&answer.body);
    assert_eq!(
        (answer.status, body["status"].as_i64()),
        (200, Some(0)),
        "{answer:?}"
    );
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("invalid password"),
        "{answer:?}"
    );

    // A mailbox password opens nothing on the admin API.
    let answer = curl(&base, "/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop&domain=example.com&email=bob&password=x", &["-u", "alice@example.com:new one&=+"]);
    assert_eq!((answer.status, answer.body.as_str()), (403, ACCESS_DENIED));
    assert!(scratch.accepts("bob@example.com", "bob-old"));

    let log = daemon.log();
    assert!(
        log.contains(
            "protocol=uapi/https account=alice@example.com outcome=changed status=Ok http=200\n"
        ),
        "{log}"
    );
    for secret in [
        "alice-old",
        "new one",
        "carol-old",
        "c2",
        "stolen",
        "YWxpY2",
    ] {
        assert!(!log.contains(secret), "the log shows '{secret}': {log}");
    }
}

#[test]
fn every_failed_login_gets_the_same_answer_after_the_delay() {
    let scratch = Scratch::new();
    let (daemon, base) = https_daemon(&scratch, &["--max-failures-per-ip", "1000"]);
    let path = "/execute/Email/passwd_pop";
    let mut answers = Vec::new();
    for credentials in [
        "alice@example.com:wrong",         // wrong password
        "nobody@example.com:whatever",     // unknown account
        "frozen@example.com:frozen-old",   // suspended account, right password
        "alice@nowhere.example:alice-old", // unknown domain
        "alice:alice-old",                 // not a full address
    ] {
        let answer = curl(
            &base,
            path,
            &["-u", credentials, "-d", "email=alice", "-d", "password=x"],
        );
        assert!(
            answer.elapsed >= DELAY,
            "{credentials}: answered in {:?}",
            answer.elapsed
        );
        assert_eq!(answer.status, 401, "{credentials}: {answer:?}");
        assert!(
            answer
                .headers
                .to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{answer:?}"
        );
        let body = json(&answer.body);
        assert_eq!(body["status"], 0);
        answers.push(answer.body);
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    assert!(scratch.accepts("alice@example.com", "alice-old"));
    assert!(!scratch.accepts("frozen@example.com", "x"));
    drop(daemon);
}

#[test]
fn admin_tokens_drive_uapi_and_api2() {
    let scratch = Scratch::new();
    let (tokens_path, tokens) = scratch.tokens(&["ops"]);
    let (_daemon, base) = https_daemon(
        &scratch,
        &[
            "--tokens",
            tokens_path.to_str().unwrap(),
            "--max-failures-per-ip",
            "1000",
        ],
    );
    let token = &tokens[0];

    // API 2 exactly as the reference calls it, GET, whm and cpanel schemes.
    let api2 = "/json-api/cpanel?cpanel_jsonapi_user=user&cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop&domain=example.com&email=bob&password=12345luggage";
    for scheme in ["whm", "cpanel"] {
        let answer = curl(
            &base,
            api2,
            &["-H", &format!("Authorization: {scheme} ops:{token}")],
        );
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(
            answer.body,
            r#"{"cpanelresult":{"apiversion":2,"data":[{"reason":"","result":1}],"event":{"result":1},"func":"passwdpop","module":"Email"}}"#
        );
    }
    assert!(scratch.accepts("bob@example.com", "12345luggage"));

    // POST, and a failure with its reason.
    let answer = curl(&base, "/json-api/cpanel", &["-H", &format!("Authorization: whm ops:{token}"), "-d", "cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop&domain=example.com&email=nobody&password=x"]);
    let body = json(&answer.body);
    assert_eq!(body["cpanelresult"]["data"][0]["result"], 0, "{answer:?}");
    assert!(
        body["cpanelresult"]["data"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("nobody"),
        "{answer:?}"
    );

    // Unknown function or module: result 0 and a reason.
    for (module, func) in [("Email", "listpops"), ("Mysql", "passwdpop")] {
        let query = format!("/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module={module}&cpanel_jsonapi_func={func}");
        let answer = curl(
            &base,
            &query,
            &["-H", &format!("Authorization: cpanel ops:{token}")],
        );
        let body = json(&answer.body);
        assert_eq!(body["cpanelresult"]["data"][0]["result"], 0, "{answer:?}");
        assert!(body["cpanelresult"]["data"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown function"));
    }

    // UAPI with a token: any account, no current password.
    let answer = curl(
        &base,
        "/execute/Email/passwd_pop",
        &[
            "-H",
            &format!("Authorization: cpanel ops:{token}"),
            "-d",
            "email=dave@example.org&password=d2",
        ],
    );
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, UAPI_OK),
        "{answer:?}"
    );
    assert!(scratch.accepts("dave@example.org", "d2"));

    // Wrong, unknown or missing tokens: cPanel's 403, after the delay.
    let bad_token = format!("Authorization: whm ops:{}", "A".repeat(32));
    let wrong_name = format!("Authorization: whm root:{token}");
    for header in [
        bad_token.as_str(),
        wrong_name.as_str(),
        "Authorization: whm ops",
        "X-None: 1",
    ] {
        let answer = curl(&base, api2, &["-H", header]);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (403, ACCESS_DENIED),
            "{header}"
        );
        assert!(answer.elapsed >= DELAY, "{header}: {:?}", answer.elapsed);
    }
    let answer = curl(
        &base,
        "/execute/Email/passwd_pop",
        &["-H", &bad_token, "-d", "email=dave@example.org&password=d3"],
    );
    assert_eq!((answer.status, answer.body.as_str()), (403, ACCESS_DENIED));
    assert!(scratch.accepts("dave@example.org", "d2"));
}

#[test]
fn malformed_requests_get_clear_4xx_answers_and_change_nothing() {
    let scratch = Scratch::new();
    let (daemon, base) = https_daemon(&scratch, &[]);
    let before = scratch.shadow("example.com");
    let path = "/execute/Email/passwd_pop";
    let auth = ["-u", "alice@example.com:alice-old"];
    let big = format!("email=alice&password={}", "x".repeat(9000));
    let cases: Vec<(Vec<&str>, u16, &str)> = vec![
        (
            vec!["-d", "email=alice&password=100%"],
            400,
            "percent-encoding",
        ),
        (vec!["-d", "email=alice&password=a%00b"], 400, "NUL"),
        (
            vec!["-d", "email=alice&email=bob&password=x"],
            400,
            "more than once",
        ),
        (vec!["-d", "email=%FFalice&password=x"], 400, "UTF-8"),
        (vec!["-d", "password=x"], 400, "missing field 'email'"),
        (vec!["-d", "email=alice"], 400, "missing field 'password'"),
        (vec!["-d", &big], 413, "larger than 8192"),
        (
            vec!["-X", "PUT", "-d", "email=alice&password=x"],
            405,
            "GET or POST",
        ),
    ];
    for (args, status, reason) in cases {
        let mut all = auth.to_vec();
        all.extend(args.iter().copied());
        let answer = curl(&base, path, &all);
        assert_eq!(answer.status, status, "{args:?}: {answer:?}");
        let body = json(&answer.body);
        assert_eq!(body["status"], 0);
        assert!(
            body["errors"][0].as_str().unwrap().contains(reason),
            "{args:?}: {answer:?}"
        );
    }
    let answer = curl(
        &base,
        "/json-api/cpanel",
        &["-d", "cpanel_jsonapi_func=%zz"],
    );
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(json(&answer.body)["cpanelresult"]["data"][0]["result"], 0);
    let answer = curl(&base, "/nothing/here", &[]);
    assert_eq!(answer.status, 404);

    // Headers past 8 KiB: refused before any handler runs.
    let huge = format!("X-Padding: {}", "p".repeat(9000));
    let answer = curl(
        &base,
        path,
        &[
            "-H",
            &huge,
            "-u",
            "alice@example.com:alice-old",
            "-d",
            "email=alice&password=x",
        ],
    );
    assert_eq!(answer.status, 431, "{answer:?}");
    // In the API's shape, with the reason, like every other refusal.
    assert_eq!(json(&answer.body)["status"], 0, "{answer:?}");
    assert!(
        json(&answer.body)["errors"][0]
            .as_str()
            .unwrap()
            .contains("headers are larger than 8192 bytes"),
        "{answer:?}"
    );
    assert_eq!(scratch.shadow("example.com"), before);

    // Cleartext HTTP on loopback speaks the same API.
    let request = format!(
        "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 25\r\n\r\nemail=alice&password=pw-2",
        basic("alice@example.com", "alice-old")
    );
    let (status, body) = raw_http(daemon.http.unwrap(), request.as_bytes());
    assert_eq!((status, body.as_str()), (200, UAPI_OK));
    assert!(scratch.accepts("alice@example.com", "pw-2"));
}

#[test]
fn only_tls_1_2_and_1_3_are_offered() {
    let scratch = Scratch::new();
    let (_daemon, base) = https_daemon(&scratch, &[]);
    for (args, ok) in [
        (vec!["--tlsv1.3"], true),
        (vec!["--tlsv1.2", "--tls-max", "1.2"], true),
        (vec!["--tlsv1.0", "--tls-max", "1.1"], false),
    ] {
        let mut all = args.clone();
        all.extend([
            "-u",
            "alice@example.com:wrong",
            "-d",
            "email=alice&password=x",
        ]);
        let answer = curl(&base, "/execute/Email/passwd_pop", &all);
        assert_eq!(answer.status == 401, ok, "{args:?}: {answer:?}");
    }
}

/// A client that would speak TLS 1.0 or 1.1 (OpenSSL at security level 0,
/// where it allows them) is refused by the daemon with an alert: the
/// refusal is the server's, not the client's own policy. The same client
/// offering TLS 1.2 gets through, which shows it is willing.
#[test]
fn a_client_willing_to_speak_tls_1_0_or_1_1_gets_an_alert_from_the_server() {
    let scratch = Scratch::new();
    let (daemon, _) = https_daemon(&scratch, &[]);
    let connect = format!("127.0.0.1:{}", daemon.https.unwrap().port());
    let handshake = |version: &str| {
        let output = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &connect, version])
            .args(["-cipher", "DEFAULT:@SECLEVEL=0", "-brief"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    };
    for version in ["-tls1", "-tls1_1"] {
        let (connected, text) = handshake(version);
        assert!(!connected, "{version}: {text}");
        // OpenSSL prints an alert it received as "... alert <name> ...:SSL
        // alert number N"; one it sent itself would not say so.
        assert!(
            text.contains("SSL alert number")
                && (text.contains("alert handshake failure")
                    || text.contains("alert protocol version")),
            "{version}: no alert from the server: {text}"
        );
    }
    let (connected, text) = handshake("-tls1_2");
    assert!(connected, "TLS 1.2 at the same security level: {text}");
    assert!(text.contains("TLSv1.2"), "{text}");
}

#[test]
fn account_functions_are_served_under_cpanels_names_to_admins_only() {
    let scratch = Scratch::new();
    let (tokens_path, tokens) = scratch.tokens(&["ops"]);
    let (_daemon, base) = https_daemon(
        &scratch,
        &[
            "--tokens",
            tokens_path.to_str().unwrap(),
            "--max-failures-per-ip",
            "1000",
        ],
    );
    let admin = format!("Authorization: cpanel ops:{}", tokens[0]);
    let uapi = |function: &str, form: &str| {
        curl(
            &base,
            &format!("/execute/Email/{function}"),
            &["-H", &admin, "-d", form],
        )
    };
    let api2 = |func: &str, form: &str| {
        let query = format!("/json-api/cpanel?cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func={func}&{form}");
        curl(&base, &query, &["-H", &admin])
    };
    let login = |address: &str, password: &str| {
        curl(
            &base,
            "/execute/Email/passwd_pop",
            &[
                "-u",
                &format!("{address}:{password}"),
                "-d",
                "email=x&password=x",
            ],
        )
        .status
    };

    // A mailbox password opens none of them, not even for its own account.
    for function in ["add_pop", "delete_pop", "suspend_login", "unsuspend_login"] {
        let answer = curl(
            &base,
            &format!("/execute/Email/{function}"),
            &[
                "-u",
                "alice@example.com:alice-old",
                "-d",
                "email=alice@example.com&password=x",
            ],
        );
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (403, ACCESS_DENIED),
            "{function}"
        );
    }
    assert!(scratch.accepts("alice@example.com", "alice-old"));

    let answer = uapi(
        "add_pop",
        "email=erin&domain=example.com&password=erin-1&quota=0",
    );
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, UAPI_OK),
        "{answer:?}"
    );
    assert!(scratch.accepts("erin@example.com", "erin-1"));
    let answer = uapi("add_pop", "email=erin&domain=example.com&password=again");
    assert_eq!(json(&answer.body)["status"], 0, "{answer:?}");
    assert!(scratch.accepts("erin@example.com", "erin-1"));

    assert_eq!(
        uapi("suspend_login", "email=erin@example.com").body,
        UAPI_OK
    );
    assert_eq!(login("erin@example.com", "erin-1"), 401);
    assert_eq!(
        uapi("unsuspend_login", "email=erin@example.com").body,
        UAPI_OK
    );
    // Logged in again (200; the change of x@example.com itself is refused).
    assert_eq!(login("erin@example.com", "erin-1"), 200);
    assert_eq!(
        uapi("delete_pop", "email=erin&domain=example.com").body,
        UAPI_OK
    );
    assert!(!String::from_utf8(scratch.shadow("example.com"))
        .unwrap()
        .contains("erin:"));

    let ok = |func: &str| {
        format!(
            r#"{{"cpanelresult":{{"apiversion":2,"data":[{{"reason":"","result":1}}],"event":{{"result":1}},"func":"{func}","module":"Email"}}}}"#
        )
    };
    assert_eq!(
        api2(
            "addpop",
            "domain=example.org&email=fred&password=fred-1&quota=0"
        )
        .body,
        ok("addpop")
    );
    assert!(scratch.accepts("fred@example.org", "fred-1"));
    assert_eq!(
        api2("delpop", "domain=example.org&email=fred").body,
        ok("delpop")
    );
    let answer = api2("delpop", "domain=example.org&email=fred");
    assert_eq!(
        json(&answer.body)["cpanelresult"]["data"][0]["result"],
        0,
        "{answer:?}"
    );
    assert!(!String::from_utf8(scratch.shadow("example.org"))
        .unwrap()
        .contains("fred:"));
}
