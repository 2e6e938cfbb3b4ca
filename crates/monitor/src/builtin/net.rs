//! `tcp` (connect, optionally send and expect) and `dns` (resolve a name) checks.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{critical, secs, BuiltinError, Params, Reader};
use crate::perfdata::PerfDatum;
use crate::result::CheckResult;
use crate::state::State;
use crate::threshold::Thresholds;

/// Resolves `host` (name or address) to socket addresses, giving up after `timeout`. The
/// system resolver blocks, so it runs on a helper thread that is abandoned on timeout.
fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    thread::spawn(move || {
        let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(format!("{host} has no address")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => {
            Err(format!("resolving {host} took longer than {}", ward_process::human(timeout)))
        }
    }
}

fn time_perf(elapsed: Duration, t: &Thresholds) -> PerfDatum {
    let mut p = PerfDatum::new("time", secs(elapsed), "s");
    p.warn = t.warning.as_ref().map(|r| r.to_string());
    p.crit = t.critical.as_ref().map(|r| r.to_string());
    p.min = Some(0.0);
    p
}

/// Connects to `host:port`; optionally sends `send` and expects `expect` in the reply. A
/// refused or timed-out connection is CRITICAL, an unexpected reply WARNING (check_tcp's
/// defaults); `warning`/`critical` are ranges on the response time in seconds.
#[derive(Debug, Clone)]
pub struct TcpCheck {
    pub host: String,
    pub port: u16,
    pub send: Option<String>,
    pub expect: Option<String>,
    pub time: Thresholds,
}

impl TcpCheck {
    const PARAMS: &'static [&'static str] =
        &["host", "port", "send", "expect", "warning", "critical"];

    pub fn from_params(params: &Params) -> Result<TcpCheck, BuiltinError> {
        let r = Reader::new("tcp", params, Self::PARAMS)?;
        Ok(TcpCheck {
            host: r.req("host")?.to_string(),
            port: r.parse("port")?.ok_or(BuiltinError::Missing { kind: "tcp", param: "port" })?,
            send: r.opt("send").map(|s| s.replace("\\r", "\r").replace("\\n", "\n")),
            expect: r.opt("expect").map(str::to_string),
            time: r.thresholds(None, None)?,
        })
    }

    pub fn run(&self, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let target = format!("{}:{}", self.host, self.port);
        let addrs = match resolve(&self.host, self.port, timeout) {
            Ok(a) => a,
            Err(e) => return critical(format!("TCP CRITICAL - {e}")),
        };
        let mut last_error = String::new();
        let mut stream = None;
        for addr in addrs {
            let left = timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let Some(mut stream) = stream else {
            return critical(format!("TCP CRITICAL - cannot connect to {target}: {last_error}"));
        };
        let mut state = State::Ok;
        let mut note = String::new();
        if let Some(data) = &self.send {
            if let Err(e) = stream.write_all(data.as_bytes()) {
                return critical(format!("TCP CRITICAL - sending to {target}: {e}"));
            }
        }
        if let Some(expect) = &self.expect {
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            let found = loop {
                if received.windows(expect.len().max(1)).any(|w| w == expect.as_bytes()) {
                    break true;
                }
                let left = timeout.saturating_sub(started.elapsed());
                if left.is_zero() || received.len() > 64 * 1024 {
                    break false;
                }
                let _ = stream.set_read_timeout(Some(left));
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            };
            if !found {
                state = State::Warning;
                let got = String::from_utf8_lossy(&received);
                let got: String = got.chars().take(80).collect();
                note =
                    format!(", unexpected response from {target}: {got:?} (expected {expect:?})");
            }
        }
        let elapsed = started.elapsed();
        state = state.worst(self.time.evaluate(secs(elapsed)));
        let mut r = CheckResult::new(
            state,
            format!("TCP {state} - {:.3} second response time on {target}{note}", secs(elapsed)),
        );
        r.perfdata.push(time_perf(elapsed, &self.time));
        r
    }
}

/// Resolves `name`; with `expect` (comma-separated addresses) every expected address must be
/// among the answers. `warning`/`critical` are ranges on the lookup time in seconds.
#[derive(Debug, Clone)]
pub struct DnsCheck {
    pub name: String,
    pub expect: Vec<IpAddr>,
    pub time: Thresholds,
}

impl DnsCheck {
    const PARAMS: &'static [&'static str] = &["name", "expect", "warning", "critical"];

    pub fn from_params(params: &Params) -> Result<DnsCheck, BuiltinError> {
        let r = Reader::new("dns", params, Self::PARAMS)?;
        let expect = match r.opt("expect") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|a| {
                    a.trim()
                        .parse::<IpAddr>()
                        .map_err(|e| r.invalid("expect", format!("{a:?}: {e}")))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(DnsCheck { name: r.req("name")?.to_string(), expect, time: r.thresholds(None, None)? })
    }

    pub fn run(&self, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let addrs = match resolve(&self.name, 0, timeout) {
            Ok(a) => a,
            Err(e) => return critical(format!("DNS CRITICAL - {e}")),
        };
        let elapsed = started.elapsed();
        let mut found: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
        found.sort();
        found.dedup();
        let list = found.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
        let missing: Vec<String> =
            self.expect.iter().filter(|a| !found.contains(a)).map(IpAddr::to_string).collect();
        let mut state = self.time.evaluate(secs(elapsed));
        let mut summary =
            format!("DNS {{}} - {} returns {list} in {:.3} s", self.name, secs(elapsed));
        if !missing.is_empty() {
            state = State::Critical;
            summary.push_str(&format!(", expected {} missing", missing.join(", ")));
        }
        let mut r = CheckResult::new(state, summary.replacen("{}", state.name(), 1));
        r.perfdata.push(time_perf(elapsed, &self.time));
        r
    }
}
