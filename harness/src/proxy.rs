//! Userspace TCP proxies on the Raft links, for network faults without root.
//!
//! With [`crate::ClusterOptions::raft_proxies`] set, node A's config lists
//! every peer B at the address of a proxy that belongs to the directed link
//! A→B and forwards to B's real Raft port (A's own entry keeps its real
//! address: d-engine binds `listen_address` and dials peers at their
//! `initial_cluster` address; a fixed set of voters never changes those
//! addresses). So every TCP connection A opens to B (d-engine's gRPC
//! channels) goes through the proxy of A→B, and B's connections to A through
//! the proxy of B→A.
//!
//! Each proxy connection carries bytes both ways: *up* (from the dialing node
//! to the dialed one: requests) and *down* (answers). "Packets from X to Y are
//! lost" therefore means: up on link X→Y and down on link Y→X are blocked.
//! A blocked direction reads and discards what arrives (a blackhole: the
//! sender's RPCs time out, nothing is refused); a connection that lost bytes is
//! closed once its link passes again, so a stream never resumes with a hole in
//! it. A connection accepted while its link is blocked is held open without
//! dialing the target. A delay holds each chunk for the given time, in order.
//! When the target refuses (its node is down) the proxy closes that
//! connection and stops listening until the target is back, so dials are
//! refused as they would be without it (an accepted-then-closed connection
//! is a different failure to gRPC clients).
//!
//! Threads: one accept thread per link, two per direction of a connection (a
//! reader that timestamps chunks, a writer that releases them when due).
//! Connections per link are capped ([`MAX_CONNS_PER_LINK`], oldest closed
//! first), chunks are at most 16 KiB, and dropping the [`RaftNet`] stops
//! every thread and closes every socket.
//!
//! Node-to-node HTTP (forwarding to the leader, member records) does not go
//! through these proxies: a partition here cuts Raft, not the API.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections kept per link; beyond it the oldest is closed.
pub const MAX_CONNS_PER_LINK: usize = 32;
/// How often an idle pump looks at the link's mode.
const POLL: Duration = Duration::from_millis(25);
/// Read buffer per direction.
const CHUNK: usize = 16 * 1024;
/// Time to dial the real Raft port.
const DIAL_TIMEOUT: Duration = Duration::from_millis(500);

/// One direction of a link: blocked or not, and an added delay.
#[derive(Debug, Default)]
struct Direction {
    blocked: AtomicBool,
    delay_ms: AtomicU64,
}

/// Shared state of one directed link.
#[derive(Debug, Default)]
struct LinkState {
    /// Bytes from the dialing node to the dialed node.
    up: Direction,
    /// Bytes back.
    down: Direction,
    stop: AtomicBool,
    conns: Mutex<Vec<Arc<Conn>>>,
}

impl LinkState {
    fn any_blocked(&self) -> bool {
        self.up.blocked.load(Ordering::Relaxed) || self.down.blocked.load(Ordering::Relaxed)
    }
}

/// One proxied connection: both sockets and whether it lost bytes.
#[derive(Debug)]
struct Conn {
    client: TcpStream,
    server: Option<TcpStream>,
    /// Bytes were discarded (or it was accepted while blocked): close on heal.
    tainted: AtomicBool,
    closed: AtomicBool,
}

impl Conn {
    fn close(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            let _ = self.client.shutdown(Shutdown::Both);
            if let Some(s) = &self.server {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

/// A proxy for one directed Raft link `from → to`.
#[derive(Debug)]
pub struct LinkProxy {
    /// Node that dials through this proxy.
    pub from: u32,
    /// Node whose Raft port the proxy forwards to.
    pub to: u32,
    /// Loopback port the proxy listens on (what `from`'s config lists for `to`).
    pub port: u16,
    state: Arc<LinkState>,
    accept: Option<JoinHandle<()>>,
}

impl LinkProxy {
    /// Listen on a free loopback port and forward to `127.0.0.1:target_port`.
    pub fn start(from: u32, to: u32, target_port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let target = SocketAddr::from(([127, 0, 0, 1], target_port));
        let state = Arc::new(LinkState::default());
        let st = state.clone();
        let accept = std::thread::Builder::new()
            .name(format!("proxy-{from}-{to}"))
            .spawn(move || accept_loop(listener, target, st))?;
        Ok(Self {
            from,
            to,
            port,
            state,
            accept: Some(accept),
        })
    }

    fn direction(&self, up: bool) -> &Direction {
        if up {
            &self.state.up
        } else {
            &self.state.down
        }
    }

    /// Block (discard) or pass the bytes of one direction (`up`: requests).
    pub fn set_blocked(&self, up: bool, blocked: bool) {
        self.direction(up).blocked.store(blocked, Ordering::Relaxed);
    }

    /// Hold each chunk of one direction for `ms` before passing it on.
    pub fn set_delay(&self, up: bool, ms: u64) {
        self.direction(up).delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Pass everything, without delay.
    pub fn heal(&self) {
        for up in [true, false] {
            self.set_blocked(up, false);
            self.set_delay(up, 0);
        }
    }

    /// Open connections (for tests and diagnostics).
    pub fn open_connections(&self) -> usize {
        let conns = self.state.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.iter().filter(|c| !c.is_closed()).count()
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(200),
        );
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        let conns =
            std::mem::take(&mut *self.state.conns.lock().unwrap_or_else(|e| e.into_inner()));
        for c in conns {
            c.close();
        }
    }
}

fn accept_loop(listener: TcpListener, target: SocketAddr, state: Arc<LinkState>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut listener = Some(listener);
    while !state.stop.load(Ordering::Relaxed) {
        let Some(l) = listener.take() else {
            // The target was down: stay closed (dials are refused, as they would
            // be without the proxy) until it accepts connections again.
            std::thread::sleep(POLL);
            if TcpStream::connect_timeout(&target, DIAL_TIMEOUT).is_ok() {
                listener = TcpListener::bind(("127.0.0.1", port)).ok();
            }
            continue;
        };
        let Ok((client, _)) = l.accept() else {
            listener = Some(l);
            continue;
        };
        if state.stop.load(Ordering::Relaxed) {
            return;
        }
        let _ = client.set_nodelay(true);
        // Blocked: hold the connection without dialing (like a lost SYN-ACK
        // path, the dialer waits); else dial the real port.
        let held = state.any_blocked();
        let server = if held {
            None
        } else {
            match TcpStream::connect_timeout(&target, DIAL_TIMEOUT) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    Some(s)
                }
                Err(_) => {
                    // Refused: close this one and stop listening (above).
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
            }
        };
        listener = Some(l);
        let conn = Arc::new(Conn {
            client,
            server,
            tainted: AtomicBool::new(held),
            closed: AtomicBool::new(false),
        });
        {
            let mut conns = state.conns.lock().unwrap_or_else(|e| e.into_inner());
            conns.retain(|c| !c.is_closed());
            while conns.len() >= MAX_CONNS_PER_LINK {
                conns.remove(0).close();
            }
            conns.push(conn.clone());
        }
        if spawn_pumps(&conn, &state).is_err() {
            conn.close();
        }
    }
}

/// Start the reader/writer threads of both directions of `conn`.
fn spawn_pumps(conn: &Arc<Conn>, state: &Arc<LinkState>) -> std::io::Result<()> {
    let Some(server) = &conn.server else {
        // Held: only watch for heal (close) and discard what the dialer sends.
        let (c, st) = (conn.clone(), state.clone());
        let src = conn.client.try_clone()?;
        std::thread::Builder::new()
            .name("proxy-held".into())
            .spawn(move || read_side(src, None, &c, &st, true))?;
        return Ok(());
    };
    for up in [true, false] {
        let (src, dst) = if up {
            (conn.client.try_clone()?, server.try_clone()?)
        } else {
            (server.try_clone()?, conn.client.try_clone()?)
        };
        let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
        let (c, st) = (conn.clone(), state.clone());
        std::thread::Builder::new()
            .name("proxy-read".into())
            .spawn(move || read_side(src, Some(tx), &c, &st, up))?;
        let c = conn.clone();
        std::thread::Builder::new()
            .name("proxy-write".into())
            .spawn(move || write_side(dst, rx, &c))?;
    }
    Ok(())
}

/// Read chunks from `src`; discard them while blocked, else queue them with
/// their release time. Closes the connection on EOF, error, stop, or when a
/// tainted connection's link passes again.
fn read_side(
    mut src: TcpStream,
    tx: Option<mpsc::Sender<(Instant, Vec<u8>)>>,
    conn: &Conn,
    state: &LinkState,
    up: bool,
) {
    let dir = if up { &state.up } else { &state.down };
    let _ = src.set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; CHUNK];
    loop {
        if state.stop.load(Ordering::Relaxed) || conn.is_closed() {
            break;
        }
        if conn.tainted.load(Ordering::Relaxed) && !state.any_blocked() {
            break;
        }
        match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if dir.blocked.load(Ordering::Relaxed) {
                    conn.tainted.store(true, Ordering::Relaxed);
                    continue;
                }
                let Some(tx) = &tx else { continue };
                let due =
                    Instant::now() + Duration::from_millis(dir.delay_ms.load(Ordering::Relaxed));
                if tx.send((due, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    conn.close();
}

/// Write queued chunks to `dst` when due, in order.
fn write_side(mut dst: TcpStream, rx: mpsc::Receiver<(Instant, Vec<u8>)>, conn: &Conn) {
    while let Ok((due, chunk)) = rx.recv() {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if conn.is_closed() || dst.write_all(&chunk).is_err() {
            break;
        }
    }
    conn.close();
}

/// The proxies of every directed link between a fixed set of nodes, with the
/// fault vocabulary of the robustness tests (partitions, one-way loss, delay).
#[derive(Debug)]
pub struct RaftNet {
    links: BTreeMap<(u32, u32), LinkProxy>,
}

impl RaftNet {
    /// One proxy per ordered pair of `raft_ports` (node id → real Raft port).
    pub fn start(raft_ports: &BTreeMap<u32, u16>) -> std::io::Result<Self> {
        let mut links = BTreeMap::new();
        for &from in raft_ports.keys() {
            for (&to, &port) in raft_ports {
                if from != to {
                    links.insert((from, to), LinkProxy::start(from, to, port)?);
                }
            }
        }
        Ok(Self { links })
    }

    /// The port `from` dials to reach `to`, if both are proxied.
    pub fn proxy_port(&self, from: u32, to: u32) -> Option<u16> {
        self.links.get(&(from, to)).map(|l| l.port)
    }

    /// The proxy of link `from → to`.
    pub fn link(&self, from: u32, to: u32) -> Option<&LinkProxy> {
        self.links.get(&(from, to))
    }

    /// Node ids with links.
    pub fn nodes(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.links.keys().map(|(a, _)| *a).collect();
        ids.dedup();
        ids
    }

    /// Lose (`true`) or deliver every byte sent from `from` to `to`: requests
    /// on link `from→to`, answers on link `to→from`. The other way is untouched.
    pub fn set_lossy(&self, from: u32, to: u32, lost: bool) {
        if let Some(l) = self.links.get(&(from, to)) {
            l.set_blocked(true, lost);
        }
        if let Some(l) = self.links.get(&(to, from)) {
            l.set_blocked(false, lost);
        }
    }

    /// Cut both ways between `a` and `b`.
    pub fn cut(&self, a: u32, b: u32) {
        self.set_lossy(a, b, true);
        self.set_lossy(b, a, true);
    }

    /// Cut `id` from every other node, both ways.
    pub fn isolate(&self, id: u32) {
        for other in self.nodes() {
            if other != id {
                self.cut(id, other);
            }
        }
    }

    /// Cut every pair of nodes that are not in the same group.
    pub fn partition(&self, groups: &[&[u32]]) {
        let group_of = |id: u32| groups.iter().position(|g| g.contains(&id));
        for &(a, b) in self.links.keys() {
            if group_of(a) != group_of(b) {
                self.set_lossy(a, b, true);
            }
        }
    }

    /// Add `ms` of delay to every byte from `from` to `to`.
    pub fn delay(&self, from: u32, to: u32, ms: u64) {
        if let Some(l) = self.links.get(&(from, to)) {
            l.set_delay(true, ms);
        }
        if let Some(l) = self.links.get(&(to, from)) {
            l.set_delay(false, ms);
        }
    }

    /// Add `ms` of delay to every byte between any two nodes (an RTT of 2·`ms`).
    pub fn delay_all(&self, ms: u64) {
        for l in self.links.values() {
            l.set_delay(true, ms);
            l.set_delay(false, 0);
        }
    }

    /// Every link passes everything without delay again.
    pub fn heal(&self) {
        for l in self.links.values() {
            l.heal();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on a free port; returns the port.
    fn echo_server() -> u16 {
        echo_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// An echo server on `l`; returns its port.
    fn echo_on(l: TcpListener) -> u16 {
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    fn roundtrip(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg)?;
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got)?;
        Ok(got)
    }

    fn dial(port: u16) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(400)))
            .unwrap();
        s
    }

    #[test]
    fn passes_blocks_delays_and_heals() {
        let proxy = LinkProxy::start(1, 2, echo_server()).unwrap();
        let mut s = dial(proxy.port);
        assert_eq!(roundtrip(&mut s, b"hello").unwrap(), b"hello");

        // Blocked answers: the request arrives, the echo never comes back.
        proxy.set_blocked(false, true);
        assert!(roundtrip(&mut s, b"lost").is_err());
        // Healed: the connection that lost bytes is closed, a new one works.
        proxy.heal();
        let mut buf = [0u8; 8];
        let closed = crate::process::wait_until(Duration::from_secs(2), || {
            matches!(s.read(&mut buf), Ok(0) | Err(_)).then_some(())
        });
        assert!(closed.is_some(), "tainted connection not closed on heal");
        let mut s = dial(proxy.port);
        assert_eq!(roundtrip(&mut s, b"again").unwrap(), b"again");

        // Delay: one round trip through a 100 ms up-delay takes >= 100 ms.
        proxy.set_delay(true, 100);
        let t = Instant::now();
        assert_eq!(roundtrip(&mut s, b"slow").unwrap(), b"slow");
        assert!(
            t.elapsed() >= Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        proxy.heal();

        // A connection accepted while blocked is held, then closed on heal.
        proxy.set_blocked(true, true);
        let mut held = dial(proxy.port);
        assert!(roundtrip(&mut held, b"x").is_err());
        proxy.heal();
        let mut s = dial(proxy.port);
        assert_eq!(roundtrip(&mut s, b"ok").unwrap(), b"ok");
    }

    #[test]
    fn a_dead_target_is_refused_until_it_is_back_and_drop_stops_everything() {
        let port = crate::process::free_ports(1)[0];
        let proxy = LinkProxy::start(1, 2, port).unwrap();
        let mut s = dial(proxy.port);
        let mut buf = [0u8; 4];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
        let refused = crate::process::wait_until(Duration::from_secs(2), || {
            TcpStream::connect(("127.0.0.1", proxy.port))
                .is_err()
                .then_some(())
        });
        assert!(
            refused.is_some(),
            "the proxy kept listening for a dead target"
        );
        echo_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
        let back = crate::process::wait_until(Duration::from_secs(3), || {
            let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).ok()?;
            s.set_read_timeout(Some(Duration::from_millis(400))).ok()?;
            roundtrip(&mut s, b"x").ok()
        });
        assert_eq!(back.as_deref(), Some(&b"x"[..]));

        let live = LinkProxy::start(1, 2, echo_server()).unwrap();
        let mut s = dial(live.port);
        assert_eq!(roundtrip(&mut s, b"a").unwrap(), b"a");
        let listen = live.port;
        drop(live);
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
        assert!(TcpStream::connect(("127.0.0.1", listen)).is_err());
    }

    #[test]
    fn one_way_loss_blocks_requests_of_one_link_and_answers_of_the_other() {
        let ports = BTreeMap::from([(1, echo_server()), (2, echo_server())]);
        let net = RaftNet::start(&ports).unwrap();
        net.set_lossy(1, 2, true);
        let mut one_to_two = dial(net.proxy_port(1, 2).unwrap());
        let mut two_to_one = dial(net.proxy_port(2, 1).unwrap());
        assert!(roundtrip(&mut one_to_two, b"r").is_err());
        assert!(roundtrip(&mut two_to_one, b"r").is_err());
        assert!(!net
            .link(2, 1)
            .unwrap()
            .state
            .up
            .blocked
            .load(Ordering::Relaxed));
        net.heal();
        let mut s = dial(net.proxy_port(2, 1).unwrap());
        assert_eq!(roundtrip(&mut s, b"ok").unwrap(), b"ok");
    }
}
