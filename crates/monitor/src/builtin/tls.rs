//! TLS certificates for the `http` check: fetch the server's leaf certificate with a
//! verifying rustls handshake and read its expiry (`notAfter`) with a minimal DER reader.

use std::io::Read;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use rustls::pki_types::{CertificateDer, ServerName};

use crate::time::Timestamp;

/// Trust anchors: Mozilla's (webpki-roots), or the certificates of a PEM file.
pub fn root_store(ca_pem: Option<&[u8]>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(pem) => {
            for item in ureq::tls::parse_pem(pem) {
                if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| e.to_string())? {
                    roots
                        .add(CertificateDer::from(c.der().to_vec()))
                        .map_err(|e| format!("CA certificate: {e}"))?;
                }
            }
            if roots.is_empty() {
                return Err("the CA file holds no certificate".into());
            }
        }
    }
    Ok(roots)
}

/// Connects to `host:port`, completes a verifying handshake for `host`, and returns the
/// server's leaf certificate (DER).
pub fn peer_certificate(
    host: &str,
    port: u16,
    roots: rustls::RootCertStore,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let started = Instant::now();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    while conn.is_handshaking() {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err("TLS handshake timed out".into());
        }
        let _ = tcp.set_read_timeout(Some(left));
        let _ = tcp.set_write_timeout(Some(left));
        conn.complete_io(&mut tcp).map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| "the server sent no certificate".to_string())?
        .to_vec();
    // Be polite: close the session (errors do not matter any more).
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    let mut sink = [0u8; 1];
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(10)));
    let _ = tcp.read(&mut sink);
    Ok(leaf)
}

/// One DER element: (tag, contents, rest).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The `notAfter` of an X.509 certificate (DER), or `None` when it is not one.
pub fn not_after(der: &[u8]) -> Option<Timestamp> {
    const SEQUENCE: u8 = 0x30;
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    // [0] EXPLICIT version is optional.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    // serialNumber, signature, issuer: skip.
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn parse_time(tag: u8, text: &str) -> Option<Timestamp> {
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (0x18, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let n = |i: usize| rest[i..i + 2].parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(year, n(0)?, n(2)?)?;
    let t = date.and_hms_opt(n(4)?, n(6)?, n(8)?)?;
    Some(Timestamp::from_utc(&Utc.from_utc_datetime(&t)))
}

#[cfg(test)]
mod tests {
    use super::{element, not_after, parse_time};

    #[test]
    fn times_in_both_encodings() {
        let t = |tag, s: &str| parse_time(tag, s).map(|t| t.to_string());
        assert_eq!(t(0x17, "491231235959Z").as_deref(), Some("2049-12-31T23:59:59Z"));
        assert_eq!(t(0x17, "500101000000Z").as_deref(), Some("1950-01-01T00:00:00Z"));
        assert_eq!(t(0x18, "20300101120000Z").as_deref(), Some("2030-01-01T12:00:00Z"));
        assert_eq!(t(0x18, "20301301120000Z"), None);
        assert_eq!(t(0x17, "2030010112000Z"), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x02, 0x30, 0x00],
            &[0x04, 0x00],
        ] {
            assert_eq!(not_after(bad), None);
        }
        assert_eq!(element(&[0x02, 0x01, 0x05, 0xff]), Some((0x02, &[0x05][..], &[0xff][..])));
    }
}
