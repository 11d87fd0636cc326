//! Password guessing against `auth/login`: concurrent tries for one account, one address
//! trying many accounts, and a burst of sign-ins that must not take the server's memory.

use std::sync::{Arc, Barrier};

use crate::harness::{Server, expect_json};
use reqwest::blocking::Response;
use serde_json::json;

const LOGIN: &str = "/api/auth/login/";

fn setup_admin(s: &Server) {
    let mut body = json!({"email": "admin@localhost", "password": "correct horse"});
    if s.setup_link.is_some() {
        body["setup_token"] = s.setup_token().into();
    }
    expect_json(s.post("", "/api/auth/setup/", &body), 201);
}

/// Sends `n` sign-ins at once (released together by a barrier); `each(i)` gives the i-th
/// email and `X-Forwarded-For`. Returns the answers' status codes (0 for none), and asserts
/// every 429 says when to come back.
fn burst(s: &Server, n: usize, each: impl Fn(usize) -> (String, String)) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (email, forwarded_for) = each(i);
            let (client, url, barrier) = (s.client.clone(), s.url(LOGIN), barrier.clone());
            std::thread::spawn(move || {
                let body = json!({"email": email, "password": "wrong horse"});
                barrier.wait();
                let sent = client
                    .post(url)
                    .header("x-forwarded-for", forwarded_for)
                    .json(&body)
                    .send();
                // 0: no answer in the client's time (a server swamped by the burst).
                sent.map_or(0, status_of)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn status_of(r: Response) -> u16 {
    let status = r.status().as_u16();
    if status == 429 {
        let after = r
            .headers()
            .get("retry-after")
            .expect("429 with Retry-After");
        assert!(after.to_str().unwrap().parse::<u64>().unwrap() >= 1);
    }
    status
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

fn peak_rss_kib(s: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn concurrent_wrong_passwords_for_one_account_are_throttled() {
    let s = Server::start();
    setup_admin(&s);
    let statuses = burst(&s, 30, |_| ("admin@localhost".into(), "10.9.9.9".into()));
    assert!(
        statuses.iter().all(|&st| st == 401 || st == 429),
        "{statuses:?}"
    );
    // Five free tries; every try is counted before its password is checked.
    assert!(count(&statuses, 401) <= 5, "{statuses:?}");
    assert!(count(&statuses, 429) >= 25, "{statuses:?}");
}

#[test]
fn one_address_trying_many_accounts_is_throttled() {
    // No trusted proxies: the X-Forwarded-For each try sends must not make it a new client.
    let s = Server::start();
    setup_admin(&s);
    let mut statuses = Vec::new();
    for i in 0..26 {
        let body = json!({"email": format!("user{i}@localhost"), "password": "Winter2026!"});
        let r = s
            .req("", reqwest::Method::POST, LOGIN)
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .json(&body)
            .send()
            .unwrap();
        statuses.push(status_of(r));
    }
    // Twenty free failures; then waits that double from 1 s, which a try lands in unless
    // each check takes longer than the wait it follows.
    assert_eq!(count(&statuses[..20], 401), 20, "{statuses:?}");
    assert!(count(&statuses[20..], 429) >= 1, "{statuses:?}");
}

#[test]
fn a_burst_of_sign_ins_keeps_memory_bounded() {
    // Each try from its own address (through a trusted proxy), so that no throttle stops
    // them: only the hashing gate stands between 100 argon2 checks of 19 MiB each and
    // the server's memory.
    let s = Server::build()
        .arg("--trusted-proxies")
        .arg("127.0.0.1/32")
        .start();
    setup_admin(&s);
    let before = peak_rss_kib(&s);
    let statuses = burst(&s, 100, |i| {
        (
            format!("user{i}@localhost"),
            format!("10.1.{}.{}", i / 200, i % 200 + 1),
        )
    });
    let grown_mib = (peak_rss_kib(&s) - before) / 1024;
    eprintln!("peak memory grew by {grown_mib} MiB over 100 concurrent sign-ins");
    assert!(grown_mib < 200, "peak memory grew by {grown_mib} MiB");
    assert!(
        statuses.iter().all(|&st| st == 401 || st == 429),
        "{statuses:?}"
    );
    assert!(
        count(&statuses, 401) >= 2,
        "some were checked: {statuses:?}"
    );
    assert!(grown_mib < 200, "peak memory grew by {grown_mib} MiB");
}
