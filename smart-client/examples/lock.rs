//! A distributed lock with a lease, on compare-and-swap: the lock passes to
//! another holder when the first one dies.
//!
//! Start a cluster (`just cluster`), then:
//! `cargo run -p smart-client --example lock -- http://127.0.0.1:8081 http://127.0.0.1:8082`
//!
//! The lock is one key. Its value names the holder and when the lease ends
//! (`holder|lease_end_ms`, milliseconds since the Unix epoch). Every change
//! is a compare-and-swap against the value last seen, so two contenders can
//! never both win:
//!
//! * acquire: swap an absent or expired value for ours;
//! * renew (every third of the lease): swap our value for one with a later
//!   end; failing means someone took the lock after our lease ended, and we
//!   must stop working;
//! * release: swap our value for an expired one.
//!
//! The log index of the winning swap is the fencing token: it grows with every
//! new holder, so a resource guarded by the lock can refuse a late writer
//! whose token is lower than one it has seen.
//!
//! The lease lives in the value, so the example works on clusters with TTLs
//! off; contenders compare lease ends with their own clocks, so across hosts
//! clocks must agree to well within the lease (here all holders run in this
//! process). On a cluster with TTLs on, `compare_and_swap_with_ttl` lets the
//! nodes expire a dead holder's lock themselves (engine patch 27).
//!
//! The program runs two holders. `alpha` takes the lock, renews it, and then
//! dies (its task is aborted without releasing). `beta` waits and takes the
//! lock once alpha's lease has run out. The program exits with an error if
//! beta never gets the lock or gets it while alpha's lease still held.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smart_client::{ReadConsistency, SmartClient};

const LOCK: &str = "/locks/example";
const LEASE: Duration = Duration::from_secs(3);

/// One holder's view of the lock.
struct Lock {
    client: SmartClient,
    holder: String,
    /// The value we last wrote (while we hold the lock).
    ours: Option<String>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

/// The lease end in a lock value (`holder|lease_end_ms`).
fn lease_end(value: &str) -> u128 {
    value
        .rsplit_once('|')
        .and_then(|(_, end)| end.parse().ok())
        .unwrap_or(0)
}

impl Lock {
    fn new(client: SmartClient, holder: &str) -> Self {
        Self {
            client,
            holder: holder.to_owned(),
            ours: None,
        }
    }

    fn value(&self) -> String {
        format!("{}|{}", self.holder, now_ms() + LEASE.as_millis())
    }

    /// One attempt: the fencing token when we took the lock, `None` while
    /// another holder's lease runs.
    async fn try_acquire(&mut self) -> smart_client::Result<Option<u64>> {
        let current = self
            .client
            .get_str(LOCK, ReadConsistency::Linearizable)
            .await?;
        if let Some(current) = &current {
            if lease_end(current) > now_ms() {
                return Ok(None);
            }
        }
        let mine = self.value();
        let expected = current.as_deref().map(str::as_bytes);
        if self.client.compare_and_swap(LOCK, expected, &mine).await? {
            self.ours = Some(mine);
            Ok(Some(self.client.session_index()))
        } else {
            Ok(None) // someone else swapped first
        }
    }

    /// Extends our lease; false when the lock is no longer ours.
    async fn renew(&mut self) -> smart_client::Result<bool> {
        let Some(ours) = self.ours.clone() else {
            return Ok(false);
        };
        let next = self.value();
        let kept = self
            .client
            .compare_and_swap(LOCK, Some(ours.as_bytes()), &next)
            .await?;
        self.ours = kept.then_some(next);
        Ok(kept)
    }

    /// Gives the lock up (an expired value: free for the next holder).
    async fn release(&mut self) -> smart_client::Result<()> {
        if let Some(ours) = self.ours.take() {
            let released = format!("{}|0", self.holder);
            self.client
                .compare_and_swap(LOCK, Some(ours.as_bytes()), &released)
                .await?;
        }
        Ok(())
    }
}

async fn client(seeds: &[String]) -> smart_client::Result<SmartClient> {
    SmartClient::builder()
        .seeds(seeds.to_vec())
        .request_timeout(Duration::from_secs(5))
        .build()
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds: Vec<String> = std::env::args().skip(1).collect();
    let seeds = if seeds.is_empty() {
        vec!["http://127.0.0.1:8081".to_owned()]
    } else {
        seeds
    };
    let started = std::time::Instant::now();
    let at = move || format!("{:>6.2}s", started.elapsed().as_secs_f64());

    // alpha takes the lock (waiting out a lease left by an earlier run).
    let mut alpha = Lock::new(client(&seeds).await?, "alpha");
    let token_a = loop {
        if let Some(token) = alpha.try_acquire().await? {
            break token;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("{} alpha holds the lock (fencing token {token_a})", at());

    // alpha renews its lease, then dies without releasing the lock.
    let alpha_task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE / 3).await;
            match alpha.renew().await {
                Ok(true) => {}
                Ok(false) | Err(_) => return alpha,
            }
        }
    });
    tokio::time::sleep(LEASE * 2).await;
    alpha_task.abort();
    let died = now_ms();
    println!("{} alpha dies while holding the lock", at());

    // beta waits for the lock.
    let mut beta = Lock::new(client(&seeds).await?, "beta");
    let deadline = std::time::Instant::now() + LEASE * 4;
    let token_b = loop {
        if let Some(token) = beta.try_acquire().await? {
            break token;
        }
        if std::time::Instant::now() > deadline {
            return Err("beta never got the lock".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let waited = now_ms() - died;
    println!(
        "{} beta holds the lock (fencing token {token_b}), {waited} ms after alpha died",
        at()
    );
    if token_b <= token_a {
        return Err(format!("fencing token went back: {token_b} after {token_a}").into());
    }
    // alpha's last renewal came at most a third of a lease before it died.
    if waited + 50 < (LEASE.as_millis() * 2 / 3) {
        return Err(format!("beta took the lock {waited} ms after alpha died: too early").into());
    }
    beta.renew().await?;
    beta.release().await?;
    println!("{} beta released the lock", at());
    Ok(())
}
