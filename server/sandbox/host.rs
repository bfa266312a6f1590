//! Hosts: the machines of a session, named "A", "B", … Each has its own addresses and its own
//! descriptor table, numbered from 3 as a process would see it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The lowest descriptor a host hands out: 0, 1 and 2 are stdin, stdout and stderr.
pub const FIRST_FD: i32 = 3;

/// Hosts a session can ever name: A to Z.
pub const MAX_HOST_NAMES: usize = 26;

/// A host's name, a capital letter, stored as its index (A = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(u8);

impl HostId {
    /// Host A.
    pub const A: HostId = HostId(0);
    /// Host B.
    pub const B: HostId = HostId(1);

    /// The host at `index` (0 = A), if it can be named.
    pub fn from_index(index: usize) -> Option<HostId> {
        (index < MAX_HOST_NAMES).then_some(HostId(index as u8))
    }

    /// Index of the host in its session (A = 0).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The host's letter.
    pub fn letter(self) -> char {
        char::from(b'A' + self.0)
    }
}

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl FromStr for HostId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            [c @ b'A'..=b'Z'] => Ok(HostId(c - b'A')),
            [c @ b'a'..=b'z'] => Ok(HostId(c - b'a')),
            _ => Err(()),
        }
    }
}

impl Serialize for HostId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let buf = [self.letter() as u8];
        // One ASCII letter is always UTF-8.
        serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or("?"))
    }
}

impl<'de> Deserialize<'de> for HostId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("`{s}` is not a host name A-Z")))
    }
}

/// What the world may know of a host: its name and addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostInfo {
    /// "A", "B", …
    #[schema(value_type = String, example = "A")]
    pub name: HostId,
    /// Addresses other hosts of the session reach it at, IPv4 first.
    #[schema(value_type = Vec<String>, example = json!(["10.0.0.1", "fd00::1"]))]
    pub addrs: Vec<IpAddr>,
    /// The ports its kernel chooses ephemeral ports from (`ip_local_port_range`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<u16>>, example = json!([32768, 60999]))]
    pub ephemeral_ports: Option<(u16, u16)>,
}

/// A descriptor table: the lowest free number is handed out first, as the kernel does.
#[derive(Debug)]
pub struct FdTable<T> {
    /// Open descriptors and what they hold.
    entries: BTreeMap<i32, T>,
}

impl<T> Default for FdTable<T> {
    fn default() -> Self {
        FdTable {
            entries: BTreeMap::new(),
        }
    }
}

impl<T> FdTable<T> {
    /// Store `value` under the lowest free descriptor and return it.
    pub fn insert(&mut self, value: T) -> i32 {
        let mut fd = FIRST_FD;
        for &used in self.entries.keys() {
            if used != fd {
                break;
            }
            fd += 1;
        }
        self.entries.insert(fd, value);
        fd
    }

    /// The entry at `fd`.
    pub fn get(&self, fd: i32) -> Option<&T> {
        self.entries.get(&fd)
    }

    /// The entry at `fd`, mutably.
    pub fn get_mut(&mut self, fd: i32) -> Option<&mut T> {
        self.entries.get_mut(&fd)
    }

    /// Take the entry at `fd` out of the table.
    pub fn remove(&mut self, fd: i32) -> Option<T> {
        self.entries.remove(&fd)
    }

    /// Open descriptors in order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &T)> {
        self.entries.iter().map(|(fd, v)| (*fd, v))
    }

    /// Open descriptors in order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (i32, &mut T)> {
        self.entries.iter_mut().map(|(fd, v)| (*fd, v))
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Take every entry out, in descriptor order.
    pub fn drain(&mut self) -> impl Iterator<Item = (i32, T)> + use<T> {
        std::mem::take(&mut self.entries).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_descriptor_first() {
        let mut t = FdTable::default();
        assert_eq!(t.insert('a'), 3);
        assert_eq!(t.insert('b'), 4);
        assert_eq!(t.insert('c'), 5);
        t.remove(4);
        assert_eq!(t.insert('d'), 4);
        assert_eq!(t.insert('e'), 6);
    }

    #[test]
    fn host_names() {
        assert_eq!("B".parse::<HostId>(), Ok(HostId::B));
        assert_eq!("b".parse::<HostId>(), Ok(HostId::B));
        assert!("AA".parse::<HostId>().is_err());
        assert_eq!(HostId::from_index(25).unwrap().letter(), 'Z');
        assert!(HostId::from_index(26).is_none());
        assert_eq!(serde_json::to_string(&HostId::A).unwrap(), "\"A\"");
    }
}
