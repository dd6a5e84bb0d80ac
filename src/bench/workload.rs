//! What to send and when: the profiles' schedules, the operation mix and the
//! run's bounds. Pure: the driver (`client.rs`) asks, this module answers.

use std::time::Duration;

/// The three workloads of `pypictl bench`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A baseline of a few clients, and a burst of `--concurrency`
    /// simultaneous requests every `--burst-every` (the reference's stress test).
    Burst,
    /// `--concurrency` clients, each sending its next request when the last ends.
    Steady,
    /// Like steady, with 30 % uploads of freshly generated wheels.
    Upload,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Burst => "burst",
            Profile::Steady => "steady",
            Profile::Upload => "upload",
        }
    }

    pub fn parse(s: &str) -> Option<Profile> {
        [Profile::Burst, Profile::Steady, Profile::Upload].into_iter().find(|p| p.name() == s)
    }

    /// The reference's burst is 510 requests; steady load defaults to a
    /// busy team's CI, not to a burst.
    pub fn default_concurrency(self) -> usize {
        match self {
            Profile::Burst => 510,
            Profile::Steady | Profile::Upload => 10,
        }
    }
}

/// The operations a client performs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// GET /simple/
    Index,
    /// GET /simple/<name>/
    Project,
    /// GET /packages/<file>
    Download,
    /// POST / (twine's multipart upload)
    Upload,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Index, Op::Project, Op::Download, Op::Upload];

    pub fn name(self) -> &'static str {
        match self {
            Op::Index => "index",
            Op::Project => "project",
            Op::Download => "download",
            Op::Upload => "upload",
        }
    }
}

/// Weights out of 100. pip resolving a requirement reads a project page and
/// downloads a file, and most of a burst is downloads (the reference's test
/// was "510 simultaneous download requests"); the index is read rarely.
pub fn weights(profile: Profile) -> [(Op, u32); 4] {
    match profile {
        Profile::Burst | Profile::Steady => [(Op::Index, 10), (Op::Project, 30), (Op::Download, 60), (Op::Upload, 0)],
        Profile::Upload => [(Op::Index, 7), (Op::Project, 21), (Op::Download, 42), (Op::Upload, 30)],
    }
}

/// Picks an operation from a roll in 0..100. Without discovered projects
/// (an empty index, or one we may not read), every read is of the index: the
/// only page that exists for sure, so errors are the server's, not ours.
pub fn pick(profile: Profile, roll: u32, projects: usize, files: usize) -> Op {
    let mut acc = 0;
    let mut op = Op::Index;
    for (o, w) in weights(profile) {
        acc += w;
        if roll % 100 < acc {
            op = o;
            break;
        }
    }
    match op {
        Op::Download if files == 0 => if projects == 0 { Op::Index } else { Op::Project },
        Op::Project if projects == 0 => Op::Index,
        other => other,
    }
}

/// A small, fast, seedable generator (xorshift64*): the mix only needs to be
/// spread, and a seed makes a run repeatable.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The run's settings, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub profile: Profile,
    /// Burst size (burst) or number of clients (steady, upload).
    pub concurrency: usize,
    /// Clients running all along under the bursts (burst only).
    pub baseline: usize,
    pub burst_every: Duration,
    /// No request starts after this; requests in flight get `timeout` to end.
    pub duration: Duration,
    /// Exactly this many requests at most.
    pub max_requests: u64,
    pub timeout: Duration,
}

/// Hard limits: a bench is bounded even when asked for more.
pub const MAX_CONCURRENCY: usize = 5_000;
pub const MAX_DURATION: Duration = Duration::from_secs(3_600);
pub const MAX_REQUESTS: u64 = 1_000_000;
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);
pub const DEFAULT_REQUESTS: u64 = 100_000;
/// Every burst request may take up to 20 s under the reference's test (its
/// P99): a minute leaves room without hiding a hung server.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_BASELINE: usize = 3;
pub const DEFAULT_BURST_EVERY: Duration = Duration::from_secs(60);

/// Flags as given (None: not given).
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub concurrency: Option<usize>,
    pub baseline: Option<usize>,
    pub burst_every: Option<Duration>,
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
    pub timeout: Option<Duration>,
}

/// Checks the flags; an error names the flag, the value and the rule.
pub fn plan(profile: Profile, f: &Flags) -> Result<Plan, String> {
    let concurrency = f.concurrency.unwrap_or(profile.default_concurrency());
    if concurrency == 0 || concurrency > MAX_CONCURRENCY {
        return Err(format!("--concurrency {concurrency}: must be 1 to {MAX_CONCURRENCY}"));
    }
    let baseline = f.baseline.unwrap_or(DEFAULT_BASELINE);
    if baseline > MAX_CONCURRENCY {
        return Err(format!("--baseline {baseline}: must be 0 to {MAX_CONCURRENCY}"));
    }
    if profile != Profile::Burst && (f.baseline.is_some() || f.burst_every.is_some()) {
        return Err(format!("--baseline and --burst-every apply to --workload burst only, not {}", profile.name()));
    }
    let burst_every = f.burst_every.unwrap_or(DEFAULT_BURST_EVERY);
    if burst_every < Duration::from_millis(100) || burst_every > MAX_DURATION {
        return Err(format!("--burst-every {}: must be 100ms to 1h", humantime::format_duration(burst_every)));
    }
    let duration = f.duration.unwrap_or(DEFAULT_DURATION);
    if duration.is_zero() || duration > MAX_DURATION {
        return Err(format!("--duration {}: must be more than 0 and at most 1h", humantime::format_duration(duration)));
    }
    let max_requests = f.requests.unwrap_or(DEFAULT_REQUESTS);
    if max_requests == 0 || max_requests > MAX_REQUESTS {
        return Err(format!("--requests {max_requests}: must be 1 to {MAX_REQUESTS}"));
    }
    let timeout = f.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if timeout < Duration::from_millis(1) || timeout > MAX_TIMEOUT {
        return Err(format!("--timeout {}: must be 1ms to 10m", humantime::format_duration(timeout)));
    }
    Ok(Plan { profile, concurrency, baseline, burst_every, duration, max_requests, timeout })
}

impl Plan {
    /// Clients that loop for the whole run.
    pub fn looping_clients(&self) -> usize {
        match self.profile {
            Profile::Burst => self.baseline,
            Profile::Steady | Profile::Upload => self.concurrency,
        }
    }

    /// When bursts fire, from the start of the run: at once (so a short run
    /// still has one), then every `burst_every` while the run lasts.
    pub fn burst_times(&self) -> Vec<Duration> {
        if self.profile != Profile::Burst {
            return Vec::new();
        }
        let mut at = Duration::ZERO;
        let mut times = Vec::new();
        while at < self.duration {
            times.push(at);
            at += self.burst_every;
        }
        times
    }
}

/// Requests are handed out one by one until either cap is reached, so
/// `--requests N` issues exactly N when the duration allows.
#[derive(Debug)]
pub struct Budget {
    issued: u64,
    max: u64,
}

impl Budget {
    pub fn new(max: u64) -> Budget {
        Budget { issued: 0, max }
    }

    /// Takes one request if any is left and `in_time`.
    pub fn take(&mut self, in_time: bool) -> bool {
        if in_time && self.issued < self.max {
            self.issued += 1;
            true
        } else {
            false
        }
    }

    pub fn issued(&self) -> u64 {
        self.issued
    }
}

/// The `href`s of a PEP 503 page, fragments (`#sha256=...`) removed, in order.
pub fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("href=") {
        rest = &rest[i + 5..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
        rest = &rest[1..];
        let Some(end) = rest.find(quote) else { break };
        let href = rest[..end].split('#').next().unwrap_or("").replace("&amp;", "&");
        if !href.is_empty() {
            out.push(href);
        }
        rest = &rest[end + 1..];
    }
    out
}

/// Resolves `href` against the page at `base` (an absolute path such as
/// `/simple/name/`), giving an absolute path. pypiserver links files as
/// `../../packages/<file>`.
pub fn resolve(base: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        // Absolute URLs: keep the path only; the bench talks to one server.
        let after = href.split_once("//").map(|x| x.1).unwrap_or("");
        return after.find('/').map(|i| after[i..].to_string()).unwrap_or_else(|| "/".into());
    }
    let mut parts: Vec<&str> = if href.starts_with('/') {
        Vec::new()
    } else {
        let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
        dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    let trailing = href.ends_with('/');
    for seg in href.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut path = format!("/{}", parts.join("/"));
    if trailing && path != "/" {
        path.push('/');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Flags {
        Flags::default()
    }

    #[test]
    fn mix_follows_the_weights_over_every_roll() {
        for profile in [Profile::Burst, Profile::Steady, Profile::Upload] {
            let mut counts = std::collections::HashMap::new();
            for roll in 0..100 {
                *counts.entry(pick(profile, roll, 3, 5)).or_insert(0u32) += 1;
            }
            for (op, w) in weights(profile) {
                assert_eq!(counts.get(&op).copied().unwrap_or(0), w, "{profile:?} {op:?}");
            }
            assert_eq!(weights(profile).iter().map(|(_, w)| w).sum::<u32>(), 100);
        }
        assert_eq!(weights(Profile::Upload).iter().find(|(o, _)| *o == Op::Upload).unwrap().1, 30);
    }

    #[test]
    fn mix_falls_back_to_pages_that_exist() {
        for roll in 0..100 {
            let op = pick(Profile::Steady, roll, 0, 0);
            assert_eq!(op, Op::Index);
            assert_ne!(pick(Profile::Steady, roll, 2, 0), Op::Download);
        }
        // Uploads do not need anything to exist.
        assert!((0..100).any(|r| pick(Profile::Upload, r, 0, 0) == Op::Upload));
    }

    #[test]
    fn rng_is_repeatable_and_spread() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<usize> = (0..1000).map(|_| a.below(10)).collect();
        assert_eq!(xs, (0..1000).map(|_| b.below(10)).collect::<Vec<_>>());
        for d in 0..10 {
            let n = xs.iter().filter(|x| **x == d).count();
            assert!((50..150).contains(&n), "digit {d}: {n}");
        }
        assert_ne!(Rng::new(0).next_u64(), 0, "a zero seed must not stick at zero");
    }

    #[test]
    fn defaults_follow_the_reference() {
        let p = plan(Profile::Burst, &flags()).unwrap();
        assert_eq!((p.concurrency, p.baseline, p.burst_every), (510, 3, Duration::from_secs(60)));
        assert_eq!((p.duration, p.max_requests, p.timeout), (DEFAULT_DURATION, DEFAULT_REQUESTS, DEFAULT_TIMEOUT));
        assert_eq!(p.looping_clients(), 3);
        assert_eq!(plan(Profile::Steady, &flags()).unwrap().looping_clients(), 10);
    }

    #[test]
    fn bad_values_name_the_flag_value_and_rule() {
        let bad = |profile, f: Flags| plan(profile, &f).unwrap_err();
        assert_eq!(bad(Profile::Burst, Flags { concurrency: Some(0), ..flags() }), "--concurrency 0: must be 1 to 5000");
        assert_eq!(bad(Profile::Burst, Flags { requests: Some(0), ..flags() }), "--requests 0: must be 1 to 1000000");
        assert!(bad(Profile::Burst, Flags { duration: Some(Duration::from_secs(7200)), ..flags() }).starts_with("--duration 2h: "));
        assert!(bad(Profile::Burst, Flags { timeout: Some(Duration::ZERO), ..flags() }).starts_with("--timeout 0s: "));
        assert!(bad(Profile::Steady, Flags { baseline: Some(2), ..flags() }).contains("--workload burst only"));
        assert!(bad(Profile::Burst, Flags { burst_every: Some(Duration::from_millis(10)), ..flags() }).starts_with("--burst-every 10ms: "));
    }

    #[test]
    fn bursts_fire_at_once_then_every_period_within_the_duration() {
        let f = Flags { duration: Some(Duration::from_secs(150)), ..flags() };
        let secs: Vec<u64> = plan(Profile::Burst, &f).unwrap().burst_times().iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, [0, 60, 120]);
        let f = Flags { duration: Some(Duration::from_secs(1)), burst_every: Some(Duration::from_millis(400)), ..flags() };
        assert_eq!(plan(Profile::Burst, &f).unwrap().burst_times().len(), 3);
        assert!(plan(Profile::Steady, &flags()).unwrap().burst_times().is_empty());
    }

    #[test]
    fn budget_hands_out_exactly_the_cap() {
        let mut b = Budget::new(3);
        let taken = (0..10).filter(|_| b.take(true)).count();
        assert_eq!((taken, b.issued()), (3, 3));
        let mut b = Budget::new(3);
        assert!(!b.take(false), "nothing after the deadline");
        assert_eq!(b.issued(), 0);
    }

    #[test]
    fn links_and_relative_paths_of_pypiserver_pages() {
        let index = "<html><body>\n<a href=\"/simple/alpha/\">alpha</a><br>\n<a href='/simple/beta-two/'>beta-two</a>\n</body></html>";
        assert_eq!(links(index), ["/simple/alpha/", "/simple/beta-two/"]);
        let page = r#"<a href="../../packages/alpha-1.0-py3-none-any.whl#sha256=abc">alpha-1.0-py3-none-any.whl</a>"#;
        let l = links(page);
        assert_eq!(l, ["../../packages/alpha-1.0-py3-none-any.whl"]);
        assert_eq!(resolve("/simple/alpha/", &l[0]), "/packages/alpha-1.0-py3-none-any.whl");
        assert_eq!(resolve("/pypi/simple/alpha/", &l[0]), "/pypi/packages/alpha-1.0-py3-none-any.whl");
        assert_eq!(resolve("/simple/", "alpha/"), "/simple/alpha/");
        assert_eq!(resolve("/simple/", "/simple/alpha/"), "/simple/alpha/");
        assert_eq!(resolve("/simple/", "https://h.example/packages/x.whl"), "/packages/x.whl");
        assert!(links("<a href=x>").is_empty(), "unquoted attributes are not pypiserver's");
    }
}
