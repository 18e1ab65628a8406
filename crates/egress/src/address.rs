//! What kind of address an IP is, for the egress policy. IPv6 forms that carry
//! an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that address,
//! so `::ffff:127.0.0.1` is loopback like `127.0.0.1`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Reachable by anyone on the internet.
    Public,
    /// This machine: 127.0.0.0/8, ::1, and the unspecified address (which connects here).
    Loopback,
    /// RFC 1918, shared address space (100.64.0.0/10), unique-local fc00::/7, site-local.
    Private,
    /// 169.254.0.0/16 and fe80::/10, other than the metadata address.
    LinkLocal,
    /// The cloud instance metadata service (169.254.169.254, fd00:ec2::254).
    Metadata,
    /// Documentation, benchmarking, multicast, broadcast, reserved, Teredo: never a web site.
    Reserved,
}

impl Class {
    pub fn describe(self) -> &'static str {
        match self {
            Class::Public => "a public address",
            Class::Loopback => "a loopback address (this machine)",
            Class::Private => "a private-network address",
            Class::LinkLocal => "a link-local address",
            Class::Metadata => "the cloud metadata address",
            Class::Reserved => "a reserved address",
        }
    }
}

/// The IPv4 address an IPv6 address stands for, if it carries one.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped)
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail()),
        // ::a.b.c.d (deprecated "compatible"), but not :: and ::1 themselves
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(tail()),
        // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail()),
        // 2002:AABB:CCDD::/48 (6to4)
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

/// The address a connection to `ip` really reaches, as a plain IPv4 address
/// when the IPv6 form carries one.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

pub fn classify(ip: IpAddr) -> Class {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => Class::Metadata,
        // 0.0.0.0 connects to this machine on Linux; the rest of 0/8 is "this network".
        (0, 0, 0) if ip.is_unspecified() => Class::Loopback,
        (0, ..) => Class::Reserved,
        (127, ..) => Class::Loopback,
        (10, ..) | (192, 168, _) => Class::Private,
        (172, 16..=31, _) => Class::Private,
        (100, 64..=127, _) => Class::Private,
        (169, 254, _) => Class::LinkLocal,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Class::Reserved,
        (198, 18..=19, _) => Class::Reserved,
        (224.., ..) => Class::Reserved,
        _ => Class::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return Class::Loopback;
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Class::Metadata;
    }
    match s[0] {
        0xfc00..=0xfdff => Class::Private,
        // fec0::/10, deprecated site-local
        0xfec0..=0xfeff => Class::Private,
        0xfe80..=0xfebf => Class::LinkLocal,
        0xff00..=0xffff => Class::Reserved,
        // 2001::/32 Teredo, 2001:db8::/32 documentation
        0x2001 if s[1] == 0 || s[1] == 0x0db8 => Class::Reserved,
        // 64:ff9b:1::/48 local-use NAT64, 100::/64 discard
        0x0064 if s[1] == 0xff9b => Class::Reserved,
        0x0100 if s[1..4] == [0, 0, 0] => Class::Reserved,
        // Only 2000::/3 is allocated as global unicast.
        0x2000..=0x3fff => Class::Public,
        _ => Class::Reserved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> Class {
        classify(text.parse().unwrap())
    }

    #[test]
    fn classifies_every_kind_of_non_public_address() {
        for (ip, want) in [
            ("127.0.0.1", Class::Loopback),
            ("127.255.0.9", Class::Loopback),
            ("0.0.0.0", Class::Loopback),
            ("::1", Class::Loopback),
            ("::", Class::Loopback),
            ("::ffff:127.0.0.1", Class::Loopback),
            ("::127.0.0.1", Class::Loopback),
            ("64:ff9b::7f00:1", Class::Loopback),
            ("2002:7f00:1::1", Class::Loopback),
            ("10.1.2.3", Class::Private),
            ("172.16.0.1", Class::Private),
            ("172.31.255.255", Class::Private),
            ("192.168.1.1", Class::Private),
            ("100.64.0.1", Class::Private),
            ("::ffff:10.0.0.1", Class::Private),
            ("fd12::1", Class::Private),
            ("fc00::1", Class::Private),
            ("169.254.1.1", Class::LinkLocal),
            ("fe80::1", Class::LinkLocal),
            ("169.254.169.254", Class::Metadata),
            ("::ffff:169.254.169.254", Class::Metadata),
            ("fd00:ec2::254", Class::Metadata),
            ("0.1.2.3", Class::Reserved),
            ("192.0.2.1", Class::Reserved),
            ("224.0.0.1", Class::Reserved),
            ("255.255.255.255", Class::Reserved),
            ("ff02::1", Class::Reserved),
            ("2001:db8::1", Class::Reserved),
            ("2001:0:4136:e378::1", Class::Reserved),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(class(ip), Class::Public, "{ip}");
        }
    }
}
