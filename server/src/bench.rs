//! `server bench forecast`: the forecast index against a plain scan of the same rows, on a
//! generated catalog, measured in the same run (the machine is shared; ratios travel, absolute
//! figures less so); then the same queries with the auction-aware estimate against generated
//! running campaigns. Prints two lines.

use crate::bench_delivery::setup::typical;
use app::{
    model::{ChannelSort, FORECAST_PAGE_SIZE, Targeting},
    service::{
        catalog_seed::{self, TOPICS},
        forecast::{
            competition::{Competition, Competitor},
            index::{CatalogIndex, IndexSettings, IndexedChannel, scan},
        },
    },
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::{hint::black_box, time::Instant};

/// Generates `channels` channels, builds the index, and times `queries` typical targetings
/// (2–3 topics, 1–2 languages, a size range, first page of matching channels) against `scans`
/// full scans answering the same questions; then, with `campaigns` generated running campaigns
/// (typical targetings, bids and daily budgets), the same queries with the auction-aware
/// estimate (bucket capacities, win rate, the bids for half and nine tenths).
pub fn forecast(
    channels: usize,
    queries: usize,
    scans: usize,
    campaigns: usize,
    seed: u64,
) -> String {
    let generated = catalog_seed::generate(channels, seed);
    let mut by_name: Vec<usize> = (0..generated.len()).collect();
    by_name.sort_by(|&a, &b| generated[a].title.cmp(&generated[b].title).then(a.cmp(&b)));
    let mut name_rank = vec![0u32; generated.len()];
    for (rank, &i) in by_name.iter().enumerate() {
        name_rank[i] = rank as u32;
    }
    let rows: Vec<IndexedChannel> = generated
        .iter()
        .enumerate()
        .map(|(i, c)| IndexedChannel {
            id: i as i64 + 1,
            topic: TOPICS[c.topic].0.to_owned(),
            language: c.language.to_owned(),
            subscribers: c.subscribers,
            avg_views: c.avg_views,
            posts_per_day: c.posts_per_day,
            active: c.active,
            name_rank: name_rank[i],
        })
        .collect();
    drop(generated);
    let settings = IndexSettings {
        min_subscribers: 1_000,
        slots_per_day: 2,
    };
    let started = Instant::now();
    let index = CatalogIndex::build(1, settings, &rows);
    let build_ms = started.elapsed().as_millis();

    let mut rng = StdRng::seed_from_u64(seed);
    let targetings: Vec<Targeting> = (0..queries.max(1)).map(|_| typical(&mut rng)).collect();
    let limit = FORECAST_PAGE_SIZE as usize;
    let sort = ChannelSort::Subscribers;

    for t in &targetings {
        black_box(index.query(t, sort, 0, limit));
    }
    let mut fast: Vec<u128> = targetings
        .iter()
        .map(|t| {
            let started = Instant::now();
            black_box(index.query(black_box(t), sort, 0, limit));
            started.elapsed().as_nanos()
        })
        .collect();
    let mut slow: Vec<u128> = targetings
        .iter()
        .cycle()
        .take(scans.max(1))
        .map(|t| {
            let started = Instant::now();
            black_box(scan(&rows, settings, black_box(t), sort, 0, limit));
            started.elapsed().as_nanos()
        })
        .collect();
    // The same answers, or the speed means nothing.
    for t in targetings.iter().take(20) {
        assert_eq!(
            index.query(t, sort, 0, limit),
            scan(&rows, settings, t, sort, 0, limit),
            "index and scan disagree"
        );
    }
    let p50 = percentile(&mut fast, 50);
    let p95 = percentile(&mut fast, 95);
    let scan_p50 = percentile(&mut slow, 50);
    let plain = format!(
        "forecast channels={channels} p50_us={:.1} p95_us={:.1} scan_p50_us={:.1} speedup={:.0} build_ms={build_ms} queries={} scans={}",
        p50 as f64 / 1e3,
        p95 as f64 / 1e3,
        scan_p50 as f64 / 1e3,
        scan_p50 as f64 / p50.max(1) as f64,
        fast.len(),
        slow.len(),
    );

    // The same queries against running campaigns.
    let competitors: Vec<Competitor> = (0..campaigns)
        .map(|_| {
            let bid = rng.random_range(500_000..=8_000_000);
            let daily = rng.random_range(5_000_000..=200_000_000);
            Competitor {
                bid: app::model::Micros(bid),
                daily_views: daily * 1_000 / bid,
                targeting: typical(&mut rng),
            }
        })
        .collect();
    let started = Instant::now();
    let competition = Competition::build(&index, 1, app::model::Micros(500_000), &competitors, &[]);
    let competition_ms = started.elapsed().as_millis();
    let bid = app::model::Micros(2_000_000);
    let mut both: Vec<u128> = targetings
        .iter()
        .map(|t| {
            let started = Instant::now();
            black_box(index.query(black_box(t), sort, 0, limit));
            let parts = index.capacity_by_bucket(black_box(t));
            black_box(competition.estimate(&parts, bid));
            started.elapsed().as_nanos()
        })
        .collect();
    let mut win = 0.0;
    for t in &targetings {
        win += competition
            .estimate(&index.capacity_by_bucket(t), bid)
            .win_rate;
    }
    let with_p50 = percentile(&mut both, 50);
    let with_p95 = percentile(&mut both, 95);
    format!(
        "{plain}\nforecast_auction channels={channels} campaigns={campaigns} p50_us={:.1} p95_us={:.1} plain_p95_us={:.1} build_ms={competition_ms} mean_win_rate={:.2}",
        with_p50 as f64 / 1e3,
        with_p95 as f64 / 1e3,
        p95 as f64 / 1e3,
        win / targetings.len().max(1) as f64,
    )
}

fn percentile(samples: &mut [u128], p: usize) -> u128 {
    samples.sort_unstable();
    let rank = (samples.len() * p).div_ceil(100).clamp(1, samples.len());
    samples[rank - 1]
}

/// `server bench forecast-http`: the forecast server function over real HTTP/1.1 (keep-alive,
/// session cookie, every layer) against a SQLite catalog of `channels` channels.
pub async fn forecast_http(channels: usize, requests: usize, seed: u64) -> Result<String, String> {
    use app::{
        model::SignUpInput,
        service::{auth, passwords::PasswordHasher},
    };
    let dir = std::env::temp_dir().join(format!("herald-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    let db = migrations::db::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    migrations::db::migrate(&db)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    catalog_seed::insert(&db, channels, seed)
        .await
        .map_err(|e| e.to_string())?;
    let seed_s = started.elapsed().as_secs_f64();
    let password = "violet harbour 42 kites";
    auth::sign_up(
        &db,
        &PasswordHasher::new(1),
        SignUpInput {
            email: "bench@example.com".into(),
            password: password.into(),
            account_name: "Bench".into(),
            time_zone: "UTC".into(),
        },
        None,
    )
    .await
    .map_err(|e| e.to_string())?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let config = crate::router::RouterConfig::new(&dir, addr, false);
    let app = crate::router::build(db, &config)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(crate::listen::serve(
        listener,
        app,
        crate::listen::HEADER_TIMEOUT,
        std::future::pending(),
    ));

    let mut http = Http::connect(addr).await?;
    let (_, headers) = http
        .post(
            "/api/sign_in",
            &format!(
                "input[email]=bench%40example.com&input[password]={}",
                password.replace(' ', "+")
            ),
            None,
        )
        .await?;
    let cookie = headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .ok_or("sign-in set no cookie")?
        .to_owned();

    let mut rng = StdRng::seed_from_u64(seed);
    let bodies: Vec<String> = (0..requests.max(1))
        .map(|_| form_body(&typical(&mut rng)))
        .collect();
    for body in bodies.iter().take(50) {
        http.post("/api/forecast", body, Some(&cookie)).await?;
    }
    let mut times = Vec::with_capacity(bodies.len());
    for body in &bodies {
        let started = Instant::now();
        let (status, _) = http.post("/api/forecast", body, Some(&cookie)).await?;
        times.push(started.elapsed().as_nanos());
        if status != 200 {
            return Err(format!("forecast answered {status}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "forecast_http channels={channels} p50_us={:.0} p95_us={:.0} requests={} seed_s={seed_s:.1}",
        percentile(&mut times, 50) as f64 / 1e3,
        percentile(&mut times, 95) as f64 / 1e3,
        times.len(),
    ))
}

/// A targeting as the browser's URL-encoded server-function call carries it.
fn form_body(t: &Targeting) -> String {
    let mut pairs = Vec::new();
    for (i, topic) in t.topics.iter().enumerate() {
        pairs.push(format!("request[targeting][topics][{i}]={topic}"));
    }
    for (i, language) in t.languages.iter().enumerate() {
        pairs.push(format!("request[targeting][languages][{i}]={language}"));
    }
    if let Some(min) = t.min_subscribers {
        pairs.push(format!("request[targeting][min_subscribers]={min}"));
    }
    if let Some(max) = t.max_subscribers {
        pairs.push(format!("request[targeting][max_subscribers]={max}"));
    }
    pairs.push("request[bid]=1500000".into());
    pairs.push("request[sort]=Subscribers".into());
    pairs.push("request[page]=0".into());
    pairs.join("&").replace('[', "%5B").replace(']', "%5D")
}

/// A minimal keep-alive HTTP/1.1 client: enough to time requests without a client crate.
struct Http {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    host: String,
}

impl Http {
    async fn connect(addr: std::net::SocketAddr) -> Result<Self, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Self {
            stream: tokio::io::BufReader::new(stream),
            host: addr.to_string(),
        })
    }

    /// Sends a form POST; returns the status and the raw header block.
    async fn post(
        &mut self,
        path: &str,
        body: &str,
        cookie: Option<&str>,
    ) -> Result<(u16, String), String> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n{cookie}Content-Length: {}\r\n\r\n{body}",
            body.len(),
            host = self.host,
        );
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            if self
                .stream
                .read_line(&mut line)
                .await
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("connection closed".into());
            }
            if line == "\r\n" {
                break;
            }
            headers.push_str(&line);
        }
        let status = headers
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("no status line")?;
        let lower = headers.to_ascii_lowercase();
        if let Some(length) = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            let mut body = vec![0; length];
            self.stream
                .read_exact(&mut body)
                .await
                .map_err(|e| e.to_string())?;
        } else if lower.contains("transfer-encoding: chunked") {
            loop {
                let mut size = String::new();
                self.stream
                    .read_line(&mut size)
                    .await
                    .map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
                let mut chunk = vec![0; size + 2];
                self.stream
                    .read_exact(&mut chunk)
                    .await
                    .map_err(|e| e.to_string())?;
                if size == 0 {
                    break;
                }
            }
        }
        Ok((status, headers))
    }
}
