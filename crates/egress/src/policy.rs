//! The rules: which resolved addresses a run may connect to.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::address::{Class, canonical, classify};

/// One entry of an operator's allow list: `host`, `host:port`, `*.suffix`, an IP or a CIDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// A host name (lower case, no trailing dot), `*.example.com` for its subdomains.
    Host {
        name: String,
        port: Option<u16>,
    },
    Net(IpNet),
}

impl std::str::FromStr for Allowed {
    type Err = String;

    fn from_str(text: &str) -> Result<Allowed, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an allowed host is empty".to_owned());
        }
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Allowed::Net(net));
        }
        if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return Ok(Allowed::Net(IpNet::from(canonical(ip))));
        }
        let (name, port) = match text.rsplit_once(':') {
            Some((name, port)) => {
                let port = port.parse::<u16>().map_err(|_| format!("'{text}': '{port}' is not a port"))?;
                (name, Some(port))
            }
            None => (text, None),
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let bare = name.strip_prefix("*.").unwrap_or(&name);
        let valid = !bare.is_empty()
            && bare.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !valid {
            return Err(format!("'{text}' is not a host name, host:port, IP address or CIDR"));
        }
        Ok(Allowed::Host { name, port })
    }
}

impl Allowed {
    fn matches_name(&self, host: &str, port: u16) -> bool {
        let Allowed::Host { name, port: allowed_port } = self else {
            return false;
        };
        if allowed_port.is_some_and(|p| p != port) {
            return false;
        }
        match name.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == name,
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        matches!(self, Allowed::Net(net) if net.contains(&ip))
    }
}

/// Where runs may connect.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Loopback, private and link-local addresses become reachable (never the
    /// metadata address unless listed in `allowed`, never `blocked`).
    pub allow_private: bool,
    /// Reachable whatever their address class.
    pub allowed: Vec<Allowed>,
    /// The service's own listening sockets (API, database): refused whatever
    /// else allows them. An unspecified IP stands for every local address.
    pub blocked: Vec<SocketAddr>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The address is of a class the policy does not open.
    Class(Class),
    /// The address and port are one of segue's own services.
    Service,
}

/// A refused connection: what was asked for and what it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub host: String,
    pub port: u16,
    pub address: IpAddr,
    pub reason: Reason,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = SocketAddr::new(self.address, self.port);
        let named = if self.host.parse::<IpAddr>().map(canonical).ok() == Some(self.address) {
            format!("{target}")
        } else {
            format!("{}:{} ({target})", self.host, self.port)
        };
        match &self.reason {
            Reason::Service => write!(f, "{named} is one of segue's own services"),
            Reason::Class(class) => write!(f, "{named} is {}", class.describe()),
        }
    }
}

impl Policy {
    /// The policy for a machine one trusts with its own network (`segue run`).
    pub fn private_network() -> Policy {
        Policy { allow_private: true, ..Policy::default() }
    }

    /// The address to connect to for `host:port`, given what the name resolved
    /// to: the first address the policy allows, else the refusal of the first.
    pub fn check(&self, host: &str, port: u16, resolved: &[IpAddr]) -> Result<SocketAddr, Denial> {
        let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
        let named = self.allowed.iter().any(|a| a.matches_name(&host, port));
        let mut first_denial = None;
        for &ip in resolved {
            let ip = canonical(ip);
            let denial = |reason| Denial { host: host.clone(), port, address: ip, reason };
            if self.is_blocked(ip, port) {
                first_denial.get_or_insert(denial(Reason::Service));
                continue;
            }
            if named || self.allowed.iter().any(|a| a.contains(ip)) {
                return Ok(SocketAddr::new(ip, port));
            }
            match classify(ip) {
                Class::Public => return Ok(SocketAddr::new(ip, port)),
                Class::Loopback | Class::Private | Class::LinkLocal if self.allow_private => {
                    return Ok(SocketAddr::new(ip, port));
                }
                class => {
                    first_denial.get_or_insert(denial(Reason::Class(class)));
                }
            }
        }
        Err(first_denial.expect("check is called with at least one address"))
    }

    fn is_blocked(&self, ip: IpAddr, port: u16) -> bool {
        let local = |ip: IpAddr| matches!(classify(ip), Class::Loopback | Class::Private | Class::LinkLocal);
        self.blocked.iter().any(|b| {
            let b_ip = canonical(b.ip());
            // A socket bound to every address answers on each local one; and a
            // connection to the unspecified address (0.0.0.0, ::) reaches this
            // machine's sockets, whichever local address they are bound to.
            b.port() == port
                && (b_ip == ip
                    || (b_ip.is_unspecified() && local(ip))
                    || (ip.is_unspecified() && (b_ip.is_unspecified() || local(b_ip))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn by_default_only_public_addresses_pass() {
        let policy = Policy::default();
        assert_eq!(
            policy.check("example.com", 443, &ips(&["93.184.216.34"])).unwrap().to_string(),
            "93.184.216.34:443"
        );
        for ip in ["127.0.0.1", "::1", "10.0.0.8", "192.168.0.1", "169.254.169.254", "fe80::1", "0.0.0.0"] {
            let denial = policy.check("x.test", 80, &ips(&[ip])).unwrap_err();
            assert!(matches!(denial.reason, Reason::Class(_)), "{ip}");
        }
    }

    #[test]
    fn the_unspecified_address_does_not_reach_blocked_sockets() {
        let policy = Policy {
            allow_private: true,
            blocked: vec!["127.0.0.1:8080".parse().unwrap(), "[::1]:5432".parse().unwrap()],
            ..Policy::default()
        };
        for (ip, port) in [("0.0.0.0", 8080), ("::", 5432), ("::ffff:0.0.0.0", 8080), ("127.0.0.1", 8080)] {
            let denial = policy.check(ip, port, &ips(&[ip])).unwrap_err();
            assert_eq!(denial.reason, Reason::Service, "{ip}:{port}");
        }
        assert!(
            policy.check("0.0.0.0", 9000, &ips(&["0.0.0.0"])).is_ok(),
            "other ports stay open to the private network"
        );
    }

    #[test]
    fn a_name_resolving_to_public_and_private_connects_only_to_the_public_one() {
        let policy = Policy::default();
        let to = policy.check("mixed.test", 80, &ips(&["127.0.0.1", "1.2.3.4"])).unwrap();
        assert_eq!(to.ip().to_string(), "1.2.3.4");
    }

    #[test]
    fn private_network_opens_loopback_and_private_but_not_metadata() {
        let policy = Policy::private_network();
        assert!(policy.check("localhost", 8077, &ips(&["127.0.0.1"])).is_ok());
        assert!(policy.check("nas", 80, &ips(&["192.168.1.5"])).is_ok());
        let denial = policy.check("169.254.169.254", 80, &ips(&["169.254.169.254"])).unwrap_err();
        assert_eq!(denial.reason, Reason::Class(Class::Metadata));
        assert_eq!(denial.to_string(), "169.254.169.254:80 is the cloud metadata address");
    }

    #[test]
    fn the_services_own_ports_are_refused_whatever_else_allows_them() {
        let policy = Policy {
            allow_private: true,
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
            blocked: vec!["0.0.0.0:8080".parse().unwrap(), "127.0.0.1:5432".parse().unwrap()],
        };
        assert_eq!(policy.check("localhost", 8080, &ips(&["127.0.0.1"])).unwrap_err().reason, Reason::Service);
        assert_eq!(
            policy.check("::ffff:127.0.0.1", 5432, &ips(&["::ffff:127.0.0.1"])).unwrap_err().reason,
            Reason::Service
        );
        assert!(policy.check("localhost", 8077, &ips(&["127.0.0.1"])).is_ok());
        let message = policy.check("localhost", 8080, &ips(&["127.0.0.1"])).unwrap_err().to_string();
        assert_eq!(message, "localhost:8080 (127.0.0.1:8080) is one of segue's own services");
    }

    #[test]
    fn allow_list_entries_open_names_ports_and_networks() {
        let policy = Policy {
            allowed: ["intranet.corp", "*.internal.test", "printer:631", "10.20.0.0/16", "[fd00::5]"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect(),
            ..Policy::default()
        };
        assert!(policy.check("INTRANET.corp.", 443, &ips(&["10.9.9.9"])).is_ok());
        assert!(policy.check("a.internal.test", 80, &ips(&["10.9.9.9"])).is_ok());
        assert!(policy.check("internal.test", 80, &ips(&["10.9.9.9"])).is_err());
        assert!(policy.check("xinternal.test", 80, &ips(&["10.9.9.9"])).is_err());
        assert!(policy.check("printer", 631, &ips(&["192.168.0.9"])).is_ok());
        assert!(policy.check("printer", 80, &ips(&["192.168.0.9"])).is_err());
        assert!(policy.check("db", 5432, &ips(&["10.20.3.4"])).is_ok());
        assert!(policy.check("v6", 80, &ips(&["fd00::5"])).is_ok());
        assert!(policy.check("v6", 80, &ips(&["fd00::6"])).is_err());
    }

    #[test]
    fn bad_allow_list_entries_are_named() {
        for bad in ["", "host:port", "a..b", "exa mple.com", "http://x"] {
            assert!(bad.parse::<Allowed>().is_err(), "{bad}");
        }
    }
}
