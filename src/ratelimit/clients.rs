//! Who a request counts against when it carries no key: its address. That is the peer's
//! address, unless the peer is a proxy named in `TRUSTED_PROXIES`; then `X-Forwarded-For` is
//! read from the right, past every trusted proxy, and the first address no proxy of ours vouches
//! for is the client. Anything to the left of it may be made up by the client and is ignored.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads `TRUSTED_PROXIES`: comma-separated addresses or CIDR blocks (`10.0.0.0/8`), or
    /// nothing. The error says what is wrong, for a line naming the variable.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("{item:?} is not an address or CIDR block such as 10.0.0.0/8")
                })?;
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address: `peer`'s own, or, from a trusted peer, the right-most address in
    /// `forwarded_for` (the `X-Forwarded-For` values in order) that is not a trusted proxy. A
    /// value that is not an address stops the walk at the last proxy that was trusted.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_for.flat_map(|value| value.split(',')).rev() {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// An IPv4 client seen through an IPv6 socket is the same client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// One hop of `X-Forwarded-For`: an address, perhaps with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(address) = hop.parse() {
        return Some(canonical(address));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|socket| canonical(socket.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let xff = ["203.0.113.9, 10.1.2.3"];
        assert_eq!(
            proxies.client(ip("127.0.0.1"), xff.into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client(ip("198.51.100.1"), xff.into_iter()),
            ip("198.51.100.1")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), xff.into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_address_wins_over_what_the_client_wrote() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        // The client sent "1.1.1.1" itself; nginx appended the address it saw.
        let values = ["1.1.1.1", "203.0.113.9, 127.0.0.1"];
        assert_eq!(
            proxies.client(ip("127.0.0.1"), values.into_iter()),
            ip("203.0.113.9")
        );
        // Garbage stops the walk: the last trusted hop is the client.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), ["203.0.113.9, junk"].into_iter()),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), ["[2001:db8::1]:443"].into_iter()),
            ip("2001:db8::1")
        );
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), ["192.0.2.1:80"].into_iter()),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        for bad in ["localhost", "10.0.0.0/33", "1.2.3"] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }
}
