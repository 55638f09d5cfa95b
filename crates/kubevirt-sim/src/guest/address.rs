//! Loopback addresses for the simulated guest network. Each simulator claims a /16 of
//! 127.0.0.0/8 of its own (127.X.0.0/16, X in 1..=254), so that several simulators on one machine
//! (parallel test binaries, the sandbox) never hand out the same address: VMIs get 127.X.0-127.*
//! in order, the front addresses (one per VM or replica set, like a Service's ClusterIP) get
//! 127.X.128-255.*.

use std::{
    net::{Ipv4Addr, UdpSocket},
    time::{SystemTime, UNIX_EPOCH},
};

/// The claim: a UDP socket bound on 127.X.0.1 at this port (an exclusive bind: the kernel says
/// who else holds that /16). 127.X.0.1 itself is never handed out.
const CLAIM_PORT: u16 = 47_101;

/// A /16 this simulator holds for as long as the claim lives.
#[derive(Debug)]
pub struct Claim {
    pub network: Ipv4Addr,
    _socket: UdpSocket,
}

/// Claims `wanted` (its /16), or a free /16 picked at random.
pub fn claim(wanted: Option<Ipv4Addr>) -> std::io::Result<Claim> {
    if let Some(network) = wanted {
        let network = network_of(network);
        let socket = UdpSocket::bind((host(network, 0, 1), CLAIM_PORT)).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("the guest network {network}/16 is taken by another simulator ({e})"),
            )
        })?;
        return Ok(Claim {
            network,
            _socket: socket,
        });
    }
    let start = (seed() % 254) as u16;
    let mut last = None;
    for i in 0..254u16 {
        let x = ((start + i) % 254 + 1) as u8;
        let network = Ipv4Addr::new(127, x, 0, 0);
        match UdpSocket::bind((host(network, 0, 1), CLAIM_PORT)) {
            Ok(socket) => {
                return Ok(Claim {
                    network,
                    _socket: socket,
                })
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free /16 in 127.0.0.0/8")))
}

/// 127.X.0.0 for any address in 127.X.0.0/16 (or anything else: only the second octet counts).
pub fn network_of(address: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::new(127, address.octets()[1], 0, 0)
}

fn host(network: Ipv4Addr, third: u8, fourth: u8) -> Ipv4Addr {
    let o = network.octets();
    Ipv4Addr::new(o[0], o[1], third, fourth)
}

/// The `n`th VMI address: 127.X.0.2, 127.X.0.3, … 127.X.127.251, then round again (32 000 VMIs
/// later: long gone).
pub fn vmi_address(network: Ipv4Addr, n: usize) -> Ipv4Addr {
    host(network, ((n / 250) % 128) as u8, (n % 250 + 2) as u8)
}

/// The `n`th front address: 127.X.255.1, 127.X.255.2, … then 127.X.254.*, down to 127.X.128.*.
pub fn front_address(network: Ipv4Addr, n: usize) -> Ipv4Addr {
    host(network, 255 - ((n / 250) % 128) as u8, (n % 250 + 1) as u8)
}

/// Enough to spread simulators started in the same second over different /16s.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0);
    (nanos ^ (std::process::id() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(0xBF58_476D_1CE4_E5B9)
        >> 17
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_simulators_never_share_a_network() {
        let a = claim(None).unwrap();
        let b = claim(None).unwrap();
        assert_ne!(a.network, b.network);
        assert!(a.network.is_loopback() && a.network.octets()[1] != 0);
        let taken = claim(Some(a.network)).unwrap_err();
        assert!(taken.to_string().contains("taken"), "{taken}");
    }

    #[test]
    fn vmi_and_front_addresses_never_overlap() {
        let net = Ipv4Addr::new(127, 9, 0, 0);
        assert_eq!(vmi_address(net, 0), Ipv4Addr::new(127, 9, 0, 2));
        assert_eq!(vmi_address(net, 251), Ipv4Addr::new(127, 9, 1, 3));
        assert_eq!(front_address(net, 0), Ipv4Addr::new(127, 9, 255, 1));
        assert_eq!(front_address(net, 250), Ipv4Addr::new(127, 9, 254, 1));
        for n in (0..100_000).step_by(97) {
            assert!(vmi_address(net, n).octets()[2] < 128);
            assert!(front_address(net, n).octets()[2] >= 128);
            assert_ne!(vmi_address(net, n), Ipv4Addr::new(127, 9, 0, 1));
        }
        assert_eq!(network_of(Ipv4Addr::new(127, 9, 3, 4)), net);
    }
}
