//! The limits before authentication (from keygate-tokio), held by the proxy: each test opens
//! the connections or sends the frames a hostile client would, sees them closed, and sees a good
//! client authenticate and be served by the broker behind the proxy meanwhile.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::support::{
    Gateway, Operator, Tansu, authenticate, closed_within, connect, connect_from, key, operator,
    proxy, still_served, tansu,
};

/// A store with a key, Tansu and the proxy with `limits` in front of it; `None` without Tansu.
fn limited(test: &str, limits: &[&str]) -> Option<(Operator, Tansu, Gateway, String, String)> {
    limited_with(test, limits, &[])
}

/// As [`limited`], with `extra` arguments for the proxy.
fn limited_with(
    test: &str,
    limits: &[&str],
    extra: &[&str],
) -> Option<(Operator, Tansu, Gateway, String, String)> {
    let tansu = Tansu::start(&tansu(test)?);
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    let mut args = extra.to_vec();
    for limit in limits {
        args.extend(["--limit", limit]);
    }
    let gateway = proxy(&operator, &tansu, &args);
    Some((operator, tansu, gateway, id, secret))
}

/// The resident memory of a process, in bytes.
fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[test]
fn connections_over_the_cap_are_closed_at_once() {
    let test = "api::limits::connections_over_the_cap_are_closed_at_once";
    let Some((_operator, _tansu, mut gateway, id, secret)) =
        limited(test, &["max-connections=20", "auth-deadline=2s"])
    else {
        return;
    };
    let mut held: Vec<TcpStream> = (0..20).map(|_| connect(gateway.port)).collect();
    // The 20 are accepted (and hold their places) before the 21st arrives.
    std::thread::sleep(Duration::from_millis(300));

    let mut over = connect(gateway.port);
    assert!(closed_within(&mut over, Duration::from_secs(2)), "a 21st connection stayed open");
    gateway.expect("refused: 20 connections open", Duration::from_secs(5));

    // The auth deadline frees the places the idle strangers held; a good client gets one.
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(5)), "an idle stranger stayed open");
    }
    let mut good = authenticate(gateway.port, &id, &secret);
    still_served(&mut good, 3);
}

#[test]
fn clients_that_do_not_authenticate_in_time_are_closed_and_good_ones_stay() {
    let test =
        "api::limits::clients_that_do_not_authenticate_in_time_are_closed_and_good_ones_stay";
    let Some((_operator, _tansu, mut gateway, id, secret)) = limited(test, &["auth-deadline=1s"])
    else {
        return;
    };
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..50).map(|_| connect(gateway.port)).collect();
    // A stranger that starts a frame and never finishes it is no better.
    let mut slow = connect(gateway.port);
    slow.write_all(&[0, 0, 0, 100, 0, 17]).unwrap();
    let mut good = authenticate(gateway.port, &id, &secret);

    for stream in idle.iter_mut().chain([&mut slow]) {
        assert!(closed_within(stream, Duration::from_secs(5)), "a stranger stayed open");
    }
    assert!(started.elapsed() >= Duration::from_millis(900), "closed before the deadline");
    gateway.expect("did not authenticate within 1s", Duration::from_secs(5));
    // The client that authenticated is past the deadline and still served.
    std::thread::sleep(Duration::from_millis(1200).saturating_sub(started.elapsed()));
    still_served(&mut good, 3);
}

#[test]
fn frames_larger_than_the_pre_authentication_limit_are_refused_before_they_are_buffered() {
    let test = "api::limits::frames_larger_than_the_pre_authentication_limit_are_refused_before_they_are_buffered";
    let Some((_operator, _tansu, mut gateway, id, secret)) = limited(test, &[]) else {
        return;
    };
    let pid = gateway.pid();
    let before = resident(pid);

    // 40 strangers each declare an 8 MiB request and send a megabyte of it.
    let chunk = vec![0u8; 1024 * 1024];
    let mut strangers = Vec::new();
    for _ in 0..40 {
        let mut stream = connect(gateway.port);
        stream.write_all(&(8u32 * 1024 * 1024).to_be_bytes()).unwrap();
        // The gateway may already have closed it; what it holds is what matters.
        let _ = stream.write_all(&chunk);
        strangers.push(stream);
    }
    for stream in &mut strangers {
        assert!(closed_within(stream, Duration::from_secs(5)), "an oversized frame was waited for");
    }
    gateway.expect("a frame of 8388608 bytes, more than the 65536 allowed", Duration::from_secs(5));
    let grown = resident(pid).saturating_sub(before);
    assert!(grown < 32 * 1024 * 1024, "the gateway grew by {grown} bytes for 40 refused frames");

    // A good client's SASL frames are well under the limit.
    let mut good = authenticate(gateway.port, &id, &secret);
    still_served(&mut good, 3);
}

#[test]
fn idle_connections_are_closed_and_busy_ones_are_not() {
    let test = "api::limits::idle_connections_are_closed_and_busy_ones_are_not";
    let Some((_operator, _tansu, mut gateway, id, secret)) =
        limited(test, &["idle-timeout=2s", "auth-deadline=30s"])
    else {
        return;
    };
    let mut stranger = connect(gateway.port);
    let mut quiet = authenticate(gateway.port, &id, &secret);
    let mut busy = authenticate(gateway.port, &id, &secret);

    let started = Instant::now();
    let mut correlation = 3;
    while started.elapsed() < Duration::from_secs(3) {
        still_served(&mut busy, correlation);
        correlation += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(closed_within(&mut stranger, Duration::from_secs(3)), "an idle stranger stayed open");
    assert!(closed_within(&mut quiet, Duration::from_secs(3)), "an idle client stayed open");
    gateway.expect("idle for 2s", Duration::from_secs(5));
    still_served(&mut busy, correlation);
}

/// One host holding as many sockets as it can open no longer locks others out: its strangers
/// beyond its share are closed at once, and a client elsewhere logs in every time.
#[test]
fn one_host_holding_sockets_does_not_lock_out_good_clients() {
    let test = "api::limits::one_host_holding_sockets_does_not_lock_out_good_clients";
    // The default limits, as an operator runs the proxy.
    let Some((_operator, _tansu, mut gateway, id, secret)) = limited(test, &[]) else {
        return;
    };
    // The attacker opens 2,000 connections from 127.0.0.2 and keeps what it gets.
    let mut held = Vec::new();
    for _ in 0..2000 {
        if let Ok(stream) = connect_from([127, 0, 0, 2], gateway.port) {
            held.push(stream);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut open = 0;
    for stream in &mut held {
        if !closed_within(stream, Duration::from_millis(5)) {
            open += 1;
        }
    }
    assert!(open <= 64, "{open} strangers from one host are held open");
    gateway.expect("connections from 127.0.0.2 waiting to authenticate", Duration::from_secs(5));

    // Meanwhile a good client from 127.0.0.1 logs in, time after time.
    for attempt in 0..20 {
        let mut good = authenticate(gateway.port, &id, &secret);
        still_served(&mut good, 3 + attempt);
    }
    drop(held);
}

/// Strangers cannot make the proxy hold more than their budget of frames: 1,500 connections
/// from 30 hosts each send all but the last byte of the largest frame allowed before
/// authentication, and the proxy's resident memory grows by less than strangers × frame limit
/// (1,000 × 64 KiB) plus slack.
#[test]
fn strangers_hold_no_more_memory_than_their_budget() {
    let test = "api::limits::strangers_hold_no_more_memory_than_their_budget";
    let Some((_operator, _tansu, mut gateway, id, secret)) = limited(test, &["auth-deadline=30s"])
    else {
        return;
    };
    let pid = gateway.pid();
    let before = resident(pid);
    let frame = 64 * 1024;
    let mut body = (u32::try_from(frame).unwrap()).to_be_bytes().to_vec();
    body.resize(4 + frame - 1, 0);
    let mut held = Vec::new();
    for host in 0..30u8 {
        for _ in 0..50 {
            let Ok(mut stream) = connect_from([127, 0, 1, host + 1], gateway.port) else {
                continue;
            };
            // Refused connections are closed before, or while, their bytes arrive.
            let _ = stream.write_all(&body);
            held.push(stream);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let grown = resident(pid).saturating_sub(before);
    let budget = 1000 * 64 * 1024;
    println!("1,500 strangers with 64 KiB frames: the proxy grew by {} KiB", grown / 1024);
    assert!(grown < budget + 32 * 1024 * 1024, "the proxy grew by {grown} bytes");
    // The 500 beyond the strangers' budget were turned away at once.
    gateway.expect("1000 connections waiting to authenticate", Duration::from_secs(5));
    // Once they go, a good client gets in.
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let mut good = authenticate(gateway.port, &id, &secret);
    still_served(&mut good, 3);
}

/// The metrics listener has the HTTP gateway's limits: half-sent requests are closed at the
/// header deadline, at most 32 connections are held, and only `GET /metrics` is answered.
#[test]
fn the_metrics_listener_holds_few_connections_briefly_and_serves_only_metrics() {
    let test =
        "api::limits::the_metrics_listener_holds_few_connections_briefly_and_serves_only_metrics";
    let metrics_port = super::support::free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let Some((_operator, _tansu, _gateway, _id, _secret)) =
        limited_with(test, &[], &["--metrics", &metrics])
    else {
        return;
    };
    let started = Instant::now();
    let mut half_sent: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut stream = connect(metrics_port);
            let _ = stream.write_all(b"GET /metr");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut open = 0;
    for stream in &mut half_sent {
        if !closed_within(stream, Duration::from_millis(5)) {
            open += 1;
        }
    }
    assert!(open <= 32, "{open} half-sent requests held open");
    for stream in &mut half_sent {
        assert!(closed_within(stream, Duration::from_secs(8)), "a half-sent request stayed open");
    }
    assert!(started.elapsed() < Duration::from_secs(9));
    drop(half_sent);

    let get = |path: &str| {
        let mut stream = connect(metrics_port);
        let request = format!("GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stream, &mut text).unwrap();
        text
    };
    let metrics = get("/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"));
    assert!(metrics.contains("keygate_proxy_store_version "), "{metrics}");
    assert!(metrics.contains("keygate_proxy_replica_staleness_seconds "), "{metrics}");
    assert!(get("/healthz").starts_with("HTTP/1.1 200"));
    // The store is fresh and Tansu answers.
    let ready = get("/readyz");
    assert!(ready.starts_with("HTTP/1.1 200") && ready.ends_with("ready\n"), "{ready}");
    assert!(get("/anything-else").starts_with("HTTP/1.1 404"));
}
