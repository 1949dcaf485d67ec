//! The `botscope` binary, as a user runs it.

use std::process::Command;

fn botscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_botscope"))
        .args(args)
        .env("BOTSCOPE_CURSOR_SECRET", "0123456789abcdef0123456789")
        .env(
            "BOTSCOPE_JWT_SECRET",
            "0123456789abcdef0123456789abcdef0123",
        )
        .env("KORE_CLIENT_SECRET", "example-secret-value")
        .output()
        .expect("run botscope")
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = botscope(&["schema"]);
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "`botscope schema` differs from schema.graphql"
    );
}

#[test]
fn example_config_passes_check_config_and_redacts_secrets() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/botscope.example.toml");
    let out = botscope(&["check-config", example]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("support-lex") && stdout.contains("sales-kore"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("example-secret-value"),
        "secret printed: {stdout}"
    );
    assert!(stdout.contains("[redacted]"));
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "cursor_secret = \"0123456789abcdef01\"\nlistne = \"x\"\n",
    )
    .unwrap();
    let out = botscope(&["check-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listne"));
}

#[test]
fn serve_without_config_points_at_demo() {
    let out = botscope(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("botscope demo"), "{stderr}");
    let out = botscope(&["serve", "--config", "/nonexistent/botscope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("botscope demo"));
}

#[tokio::test]
async fn token_command_mints_a_verifiable_token() {
    let secret = "0123456789abcdef0123456789abcdef0123";
    let out = botscope(&[
        "token",
        "--secret",
        secret,
        "--sub",
        "reporting",
        "--bots",
        "support-lex,sales-kore",
    ]);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    let auth = botscope::server::auth::Authenticator::hs256(secret.as_bytes(), None, None);
    let claims = auth
        .authenticate(Some(&format!("Bearer {}", token.trim())))
        .await
        .unwrap();
    assert_eq!(claims.sub, "reporting");
    assert!(claims.scope().allows("support-lex") && !claims.scope().allows("billing-lex"));
    let short = botscope(&["token", "--secret", "short", "--sub", "x"]);
    assert_eq!(short.status.code(), Some(2));
}

/// `demo --print-config` prints the config the demo runs: every bot through
/// its real adapter at a simulator, secrets redacted, and — secrets given
/// back — a file `check-config` accepts and that says the same.
#[test]
fn demo_print_config_is_a_config_serve_accepts() {
    let out = botscope(&[
        "demo",
        "--print-config",
        "--listen",
        "127.0.0.1:0",
        "--days",
        "2",
        "--sessions-per-day",
        "5",
    ]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for bot in ["support-lex", "billing-lex", "sales-kore", "returns-kore"] {
        assert!(printed.contains(&format!("id = \"{bot}\"")), "{printed}");
    }
    assert!(
        printed.contains("endpoint_url = \"http://127.0.0.1:"),
        "{printed}"
    );
    assert!(
        printed.contains("client_secret = \"[redacted]\""),
        "{printed}"
    );
    assert!(
        !printed.contains("demo-"),
        "the run's Kore secret: {printed}"
    );
    assert!(
        !printed.contains("botscope-demo-cursor-secret"),
        "{printed}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.toml");
    std::fs::write(
        &path,
        printed.replace("\"[redacted]\"", "\"a-secret-given-back-0123\""),
    )
    .unwrap();
    let check = botscope(&["check-config", path.to_str().unwrap()]);
    let checked = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{checked}");
    let body = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(body(&checked), body(&printed));
}

/// A fault rate outside 0..1 is refused before anything starts, naming the flag.
#[test]
fn fault_rates_outside_zero_to_one_are_refused() {
    for args in [
        &["demo", "--print-config", "--fault-throttle-rate", "2"][..],
        &["simulate", "lex", "--error-rate=-0.5"][..],
        &[
            "simulate",
            "kore",
            "--client-secret",
            "s",
            "--throttle-rate",
            "x",
        ][..],
    ] {
        let out = botscope(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("rate"), "{args:?}: {stderr}");
        assert!(stderr.contains("between 0 and 1"), "{args:?}: {stderr}");
    }
}
