//! [`Ipv4Cidr`]: an IPv4 network, the shape of a backend's address space (the loopback pool,
//! the netns subnet).

use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network in CIDR notation, e.g. `127.100.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The network address (host bits zero).
    pub network: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// Number of addresses in the network.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// Whether `ip` lies inside the network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let offset = u32::from(ip).wrapping_sub(u32::from(self.network));
        u64::from(offset) < self.size()
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a CIDR like 127.100.0.0/16"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("`{prefix}` is not a prefix length 0..=32"))?;
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        };
        Ok(Ipv4Cidr {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_masks() {
        let cidr: Ipv4Cidr = "127.100.3.4/16".parse().unwrap();
        assert_eq!(cidr.network, Ipv4Addr::new(127, 100, 0, 0));
        assert_eq!(cidr.size(), 65536);
        assert!("127.0.0.1".parse::<Ipv4Cidr>().is_err());
        assert!("127.0.0.0/33".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn contains_holds_exactly_the_network() {
        let cidr: Ipv4Cidr = "127.100.0.0/16".parse().unwrap();
        assert!(cidr.contains(Ipv4Addr::new(127, 100, 0, 0)));
        assert!(cidr.contains(Ipv4Addr::new(127, 100, 255, 255)));
        assert!(!cidr.contains(Ipv4Addr::new(127, 101, 0, 0)));
        assert!(!cidr.contains(Ipv4Addr::new(127, 99, 255, 255)));
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(255, 255, 255, 255)));
    }
}
