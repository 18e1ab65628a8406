//! Where webhooks may send: the egress policy runs obey, applied to a webhook's
//! URL when it is saved and again before every attempt, after resolving the name,
//! so a name that later resolves to a private address is refused too. Attempts
//! connect to the address that was checked, never to a second resolution.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use egress::{Denial, Policy, Reason};
use reqwest::Url;

use crate::error::ApiError;

/// How long resolving a webhook's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A webhook URL that parsed: where to connect.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub url: Url,
    /// Lower case; IPv6 without brackets.
    pub host: String,
    pub port: u16,
    /// Set when the URL names an IP address rather than a host name.
    pub ip: Option<IpAddr>,
}

/// Why a target cannot be reached.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The policy refuses the address the name resolved to.
    Denied(Denial),
    /// The name did not resolve (or not in time).
    Unresolved(String),
}

impl std::fmt::Display for Refusal {
    /// Tells a tenant why, not where: the address a name resolved to on the
    /// server's network (an internal DNS answer) is not theirs to learn.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Denied(denial) => {
                let what = match &denial.reason {
                    Reason::Class(class) => class.describe(),
                    Reason::Service => "one of segue's own services",
                };
                let named = if denial.host.parse::<IpAddr>().is_ok() {
                    format!("{}:{} is {what}", denial.host, denial.port)
                } else {
                    format!("{} resolves to {what}", denial.host)
                };
                write!(
                    f,
                    "refused by the egress policy: {named} (webhooks reach the private network only when the server \
                     runs with --allow-private-network)"
                )
            }
            Refusal::Unresolved(why) => f.write_str(why),
        }
    }
}

/// Name lookups in flight at once: each holds a thread of the blocking pool
/// (`getaddrinfo` cannot be cancelled, so past our time limit too), and a flood
/// of names whose DNS never answers must not take every thread.
static LOOKUPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);

/// Parses a webhook URL: `http` or `https`, a host, no user name or password.
pub(crate) fn parse(url: &str) -> Result<Target, String> {
    let parsed = Url::parse(url.trim()).map_err(|e| format!("url is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("url must be http or https, not '{}'", parsed.scheme()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not hold a user name or password: webhook URLs are shown to every API key; \
                    deliveries are signed instead"
            .into());
    }
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err("url must name a host".into()),
    };
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let port = parsed.port_or_known_default().ok_or("url has no port")?;
    Ok(Target { url: parsed, host, port, ip })
}

/// The address an attempt connects to: the one the policy allows among those
/// the host resolves to.
pub(crate) async fn resolve(target: &Target, policy: &Policy) -> Result<SocketAddr, Refusal> {
    let addresses: Vec<IpAddr> = match target.ip {
        Some(ip) => vec![ip],
        None => {
            let (host, port) = (target.host.clone(), target.port);
            let lookup = async move {
                let turn = LOOKUPS.acquire().await.expect("the semaphore is never closed");
                // The turn is held by the thread, so it ends with the lookup, not with our wait.
                tokio::task::spawn_blocking(move || {
                    let _turn = turn;
                    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect::<Vec<_>>)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            };
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.into_iter().map(|a| a.ip()).collect(),
                Ok(Err(e)) => return Err(Refusal::Unresolved(format!("{} does not resolve: {e}", target.host))),
                Err(_) => return Err(Refusal::Unresolved(format!("resolving {} timed out", target.host))),
            }
        }
    };
    if addresses.is_empty() {
        return Err(Refusal::Unresolved(format!("{} resolves to no address", target.host)));
    }
    policy.check(&target.host, target.port, &addresses).map_err(Refusal::Denied)
}

/// Checks a URL given to the API and returns it as it is kept (trimmed). A name
/// that does not resolve yet is accepted: every attempt resolves and checks it again.
pub(crate) async fn check(url: &str, policy: &Policy) -> Result<String, ApiError> {
    let target = parse(url).map_err(|message| ApiError::invalid_field("url", message))?;
    match resolve(&target, policy).await {
        Ok(_) | Err(Refusal::Unresolved(_)) => Ok(url.trim().to_owned()),
        Err(refused) => Err(ApiError::invalid_field("url", format!("url is {refused}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_parse() {
        let target = parse("https://Hooks.Example.com/in?x=1").unwrap();
        assert_eq!((target.host.as_str(), target.port, target.ip), ("hooks.example.com", 443, None));
        assert_eq!(parse("http://[::1]:8080/").unwrap().ip, Some("::1".parse().unwrap()));
        for bad in ["ftp://example.com/", "https://user:pw@example.com/", "not a url", "file:///etc/passwd"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn private_addresses_are_refused_unless_allowed() {
        let closed = Policy::default();
        for url in ["http://127.0.0.1:9/", "http://[::1]/", "http://10.1.2.3/", "http://169.254.169.254/latest"] {
            let refused = resolve(&parse(url).unwrap(), &closed).await.unwrap_err();
            assert!(matches!(refused, Refusal::Denied(_)), "{url}: {refused}");
            assert!(check(url, &closed).await.is_err(), "{url}");
        }
        // A name is resolved before it is checked: `localhost` is loopback. The
        // refusal says so without the address it resolved to.
        let refused = resolve(&parse("http://localhost:9/").unwrap(), &closed).await.unwrap_err();
        assert!(matches!(refused, Refusal::Denied(_)));
        let told = refused.to_string();
        assert!(told.contains("localhost resolves to a loopback address") && !told.contains("127.0.0.1"), "{told}");
        let open = Policy::private_network();
        assert_eq!(resolve(&parse("http://127.0.0.1:9/").unwrap(), &open).await.unwrap().to_string(), "127.0.0.1:9");
        // Never the metadata address, whatever the private network allows.
        assert!(check("http://169.254.169.254/", &open).await.is_err());
    }
}
