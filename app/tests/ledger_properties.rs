//! The money path as a state machine: random sequences of top-ups (new, repeated, and a
//! reference reused with another amount), decisions (fresh and repeated slot ids, on matching
//! and unmatched channels), event batches (duplicates, changed bodies, unknown decisions, out
//! of order, before their decision, after expiry), budget and bid edits, pauses, ad approvals,
//! platform setting changes, sweeps and clock jumps across the local midnights of two time
//! zones — run through the real services on a fresh SQLite database per case. After every step
//! the books are audited (`delivery_support::audit_books`) and compared with a model of what
//! each step must have done.
//!
//! A lowered total budget is checked at decision time only: the builder lets it go down to
//! what is posted though more may be held, and a test of that (ignored while it is a known
//! bug) says what the cap must still guarantee.

mod delivery_support;

use app::{
    entity::delivery_decision,
    error::AppError,
    model::{AdId, CampaignAction, CampaignId, Micros, publisher_part},
    service::{
        Actor, ads,
        campaigns::write,
        delivery::{self, Decided, DeliveryEngine, EventInput, EventResult, sweep},
    },
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use delivery_support::*;
use proptest::{prelude::*, test_runner::FileFailurePersistence};
use sea_orm::{DatabaseConnection, EntityTrait};
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

/// The smallest total budget the platform accepts (the migration's default).
const MIN_TOTAL: Micros = Micros::units(20);
/// The second account's time zone: ahead of Berlin, behind it, and a half-hour offset.
const SECOND_ZONES: [&str; 3] = ["Australia/Sydney", "America/Los_Angeles", "Asia/Kolkata"];
/// A decision id no decision has.
const UNKNOWN_DECISION: i64 = 9_000_000_000;

/// The simulated clock starts within three days of this instant: two days before Europe moves
/// to summer time next year (so the clock's jumps also cross a daylight-saving change, and it
/// is always later than the real clock, which campaign starts are set from).
fn epoch() -> DateTime<Utc> {
    let year = Utc::now().year() + 1;
    let last_sunday = (25..=31)
        .rev()
        .filter_map(|day| NaiveDate::from_ymd_opt(year, 3, day))
        .find(|d| d.weekday() == Weekday::Sun)
        .expect("March has a last Sunday");
    (last_sunday - Duration::days(2))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

// ---------------------------------------------------------------------------------------------
// What a case is made of.

#[derive(Clone, Debug)]
struct CampaignSpec {
    account: usize,
    bid_cents: i64,
    total_units: i64,
    daily_units: Option<i64>,
    /// Approved at the start; otherwise it waits for an `Approve` step.
    launched: bool,
}

#[derive(Clone, Debug)]
struct Setup {
    start_minutes: i64,
    second_tz: &'static str,
    /// (average views, English): only English channels match the campaigns.
    channels: Vec<(i64, bool)>,
    slots_per_day: i64,
    ttl_minutes: i64,
    campaigns: Vec<CampaignSpec>,
    credits: [i64; 2],
}

#[derive(Clone, Copy, Debug)]
enum At {
    /// This far (in percent) from the decision to now.
    Within(u8),
    BeforeDecision,
    Future,
}

#[derive(Clone, Debug)]
enum EventOp {
    New {
        decision: usize,
        id: u8,
        views: i64,
        clicks: i64,
        at: At,
    },
    /// An accepted event sent again as it was.
    Resend {
        nth: usize,
    },
    /// An accepted event's id with one more view.
    Mutate {
        nth: usize,
    },
    Unknown {
        id: u8,
        views: i64,
    },
}

#[derive(Clone, Debug)]
enum Op {
    TopUp {
        account: usize,
        reference: u8,
        units: i64,
    },
    Decide {
        channel: usize,
        slot: u8,
    },
    Events(Vec<EventOp>),
    Edit {
        campaign: usize,
        bid_cents: i64,
        total_units: i64,
        daily_units: Option<i64>,
    },
    Pause {
        campaign: usize,
    },
    Resume {
        campaign: usize,
    },
    PauseAd {
        campaign: usize,
        ad: usize,
        paused: bool,
    },
    NewAd {
        campaign: usize,
        approve: bool,
    },
    EditAd {
        campaign: usize,
        ad: usize,
        approve: bool,
    },
    Approve {
        campaign: usize,
    },
    Share(i64),
    MinCpm(i64),
    HoldTtl(i64),
    Sweep {
        limit: u64,
    },
    Advance {
        seconds: i64,
    },
}

fn setup() -> impl Strategy<Value = Setup> {
    let campaign = (
        0..2usize,
        50..=300i64,
        20..=60i64,
        prop::option::weighted(0.6, 3..=25i64),
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(account, bid_cents, total_units, daily, launched)| CampaignSpec {
                account,
                bid_cents,
                total_units,
                daily_units: daily.map(|d| d.min(total_units)),
                launched,
            },
        );
    (
        0..3 * 24 * 60i64,
        prop::sample::select(SECOND_ZONES.to_vec()),
        prop::collection::vec(
            (
                prop::sample::select(vec![300i64, 1_200, 2_500, 5_000, 9_000, 14_000]),
                prop::bool::weighted(0.85),
            ),
            3..=6,
        ),
        1..=5i64,
        prop::sample::select(vec![30i64, 120, 1_440]),
        prop::collection::vec(campaign, 2..=3),
        [credit_units(), credit_units()],
    )
        .prop_map(
            |(
                start_minutes,
                second_tz,
                channels,
                slots_per_day,
                ttl_minutes,
                campaigns,
                credits,
            )| {
                Setup {
                    start_minutes,
                    second_tz,
                    channels,
                    slots_per_day,
                    ttl_minutes,
                    campaigns,
                    credits,
                }
            },
        )
}

/// An account's first credit, in units: usually some, sometimes none.
fn credit_units() -> impl Strategy<Value = i64> {
    prop_oneof![1 => Just(0i64), 4 => 10..=80i64]
}

fn event_op() -> impl Strategy<Value = EventOp> {
    let at = prop_oneof![
        8 => (0..=100u8).prop_map(At::Within),
        1 => Just(At::BeforeDecision),
        1 => Just(At::Future),
    ];
    let views = prop_oneof![1 => Just(0i64), 6 => 1..400i64, 3 => 400..4_000i64];
    prop_oneof![
        8 => (0..64usize, 0..24u8, views, 0..4i64, at).prop_map(|(decision, id, views, clicks, at)| {
            EventOp::New { decision, id, views, clicks, at }
        }),
        3 => (0..64usize).prop_map(|nth| EventOp::Resend { nth }),
        1 => (0..64usize).prop_map(|nth| EventOp::Mutate { nth }),
        1 => (0..24u8, 1..100i64).prop_map(|(id, views)| EventOp::Unknown { id, views }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..4u8, prop::sample::select(vec![5i64, 10, 25, 60, 150]))
            .prop_map(|(account, reference, units)| Op::TopUp { account, reference, units }),
        9 => (0..6usize, 0..16u8).prop_map(|(channel, slot)| Op::Decide { channel, slot }),
        8 => prop::collection::vec(event_op(), 1..4).prop_map(Op::Events),
        2 => (0..3usize, 40..=320i64, 15..=70i64, prop::option::of(2..=30i64)).prop_map(
            |(campaign, bid_cents, total_units, daily_units)| Op::Edit {
                campaign,
                bid_cents,
                total_units,
                daily_units,
            }
        ),
        1 => (0..3usize).prop_map(|campaign| Op::Pause { campaign }),
        1 => (0..3usize).prop_map(|campaign| Op::Resume { campaign }),
        1 => (0..3usize, 0..3usize, any::<bool>())
            .prop_map(|(campaign, ad, paused)| Op::PauseAd { campaign, ad, paused }),
        1 => (0..3usize, prop::bool::weighted(0.7))
            .prop_map(|(campaign, approve)| Op::NewAd { campaign, approve }),
        1 => (0..3usize, 0..3usize, prop::bool::weighted(0.7))
            .prop_map(|(campaign, ad, approve)| Op::EditAd { campaign, ad, approve }),
        1 => (0..3usize).prop_map(|campaign| Op::Approve { campaign }),
        1 => prop::sample::select(vec![0i64, 3_333, 5_000, 7_000, 10_000]).prop_map(Op::Share),
        1 => prop::sample::select(vec![500_000i64, 1_000_000, 2_000_000]).prop_map(Op::MinCpm),
        1 => prop::sample::select(vec![20i64, 90, 1_440]).prop_map(Op::HoldTtl),
        2 => (1..5u64).prop_map(|limit| Op::Sweep { limit }),
        5 => prop_oneof![
            4 => 60..3_600i64,
            3 => 3_600..12 * 3_600i64,
            2 => 12 * 3_600..3 * 24 * 3_600i64,
        ]
        .prop_map(|seconds| Op::Advance { seconds }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model: what the services must have done.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Sent for review, nothing approved yet.
    Draft,
    Running,
    Paused,
}

#[derive(Clone, Debug)]
struct AdModel {
    id: AdId,
    live: Option<i64>,
    paused: bool,
}

#[derive(Clone, Debug)]
struct CampaignModel {
    id: CampaignId,
    account: usize,
    status: Status,
    bid: Micros,
    total: Micros,
    daily: Option<Micros>,
    ads: Vec<AdModel>,
}

impl CampaignModel {
    fn serves(&self, floor: Micros) -> bool {
        self.status == Status::Running
            && self.bid >= floor
            && self.ads.iter().any(|a| a.live.is_some() && !a.paused)
    }
}

#[derive(Clone, Debug)]
struct DecisionModel {
    id: i64,
    campaign: usize,
    channel: usize,
    price: Micros,
    held: i64,
    posted: i64,
    released: i64,
    views: i64,
    clicks: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    settled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct EventModel {
    decision_id: i64,
    views: i64,
    clicks: i64,
    at: DateTime<Utc>,
    posted: i64,
}

struct AccountModel {
    actor: Actor,
    tz: Tz,
    top_ups: HashMap<String, i64>,
}

struct ChannelModel {
    handle: String,
    avg_views: i64,
    english: bool,
}

struct Run {
    db: DatabaseConnection,
    engine: DeliveryEngine,
    key: i64,
    now: DateTime<Utc>,
    accounts: Vec<AccountModel>,
    channels: Vec<ChannelModel>,
    campaigns: Vec<CampaignModel>,
    /// Slot id → (channel, the answer).
    slots: HashMap<String, (usize, Decided)>,
    decisions: Vec<DecisionModel>,
    events: HashMap<String, EventModel>,
    /// Accepted event ids, oldest first.
    accepted: Vec<String>,
    share_bp: i64,
    floor: Micros,
    ttl_minutes: i64,
    slots_per_day: i64,
    texts: u32,
    step: String,
}

// ---------------------------------------------------------------------------------------------
// A fresh database per case: a copy of one migrated template with four advertisers (Berlin
// and the [`SECOND_ZONES`]) and a network key, so that a case pays for neither the migrations nor
// the password hashes.

struct Template {
    path: PathBuf,
    /// Berlin's, then one per [`SECOND_ZONES`].
    users: [i64; 4],
    key: i64,
}

static TEMPLATE: OnceLock<Template> = OnceLock::new();
static CASES: AtomicU32 = AtomicU32::new(0);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("herald-tests");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn template() -> &'static Template {
    TEMPLATE.get_or_init(|| {
        runtime().block_on(async {
            let db = migrations::db::fresh_sqlite().await.expect("fresh SQLite");
            let mut users = [0; 4];
            for (i, tz) in std::iter::once("Europe/Berlin")
                .chain(SECOND_ZONES)
                .enumerate()
            {
                let email = format!("advertiser{i}@example.com");
                users[i] = advertiser(&db, &email, tz).await.user_id.0;
            }
            topic(&db).await;
            let key = network_key(&db, epoch()).await;
            let path = scratch_dir().join(format!("ledger_properties_{}.db", std::process::id()));
            let _ = std::fs::remove_file(&path);
            sea_orm::ConnectionTrait::execute_unprepared(
                &db,
                &format!("VACUUM INTO '{}'", path.display()),
            )
            .await
            .expect("copy the template");
            db.close().await.expect("close the template");
            Template { path, users, key }
        })
    })
}

/// Removes a case's database files when the case ends, passed or failed.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

async fn fresh_case(template: &Template) -> (DatabaseConnection, Scratch) {
    let path = scratch_dir().join(format!(
        "ledger_properties_{}_{}.db",
        std::process::id(),
        CASES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::copy(&template.path, &path).expect("copy the template");
    let scratch = Scratch(path);
    let db = migrations::db::connect(&format!("sqlite://{}?mode=rwc", scratch.0.display()))
        .await
        .expect("open the copy");
    migrations::db::migrate(&db)
        .await
        .expect("nothing left to migrate");
    (db, scratch)
}

// ---------------------------------------------------------------------------------------------
// Running a case.

impl Run {
    async fn start(db: DatabaseConnection, template: &Template, setup: &Setup) -> Self {
        let now = epoch() + Duration::minutes(setup.start_minutes);
        set_setting(&db, "ad_slots_per_day", setup.slots_per_day).await;
        set_setting(&db, "hold_ttl_minutes", setup.ttl_minutes).await;
        let mut channels = Vec::new();
        for (i, &(avg_views, english)) in setup.channels.iter().enumerate() {
            let handle = format!("c{i}");
            channel(&db, &handle, avg_views, if english { "en" } else { "fr" }).await;
            channels.push(ChannelModel {
                handle,
                avg_views,
                english,
            });
        }
        let second = SECOND_ZONES
            .iter()
            .position(|z| *z == setup.second_tz)
            .map_or(template.users[1], |i| template.users[i + 1]);
        let mut accounts = Vec::new();
        for (user, tz) in [
            (template.users[0], "Europe/Berlin"),
            (second, setup.second_tz),
        ] {
            accounts.push(AccountModel {
                actor: actor(&db, user).await,
                tz: tz.parse().expect("time zone"),
                top_ups: HashMap::new(),
            });
        }
        let mut run = Run {
            db,
            engine: DeliveryEngine::default(),
            key: template.key,
            now,
            accounts,
            channels,
            campaigns: Vec::new(),
            slots: HashMap::new(),
            decisions: Vec::new(),
            events: HashMap::new(),
            accepted: Vec::new(),
            share_bp: 5_000,
            floor: Micros(500_000),
            ttl_minutes: setup.ttl_minutes,
            slots_per_day: setup.slots_per_day,
            texts: 0,
            step: "setup".into(),
        };
        for (i, units) in setup.credits.iter().enumerate() {
            if *units > 0 {
                run.top_up(i, "initial", *units).await;
            }
        }
        for (i, spec) in setup.campaigns.iter().enumerate() {
            let actor = run.accounts[spec.account].actor.clone();
            let bid = Micros(spec.bid_cents * 10_000);
            let total = Micros::units(spec.total_units);
            let daily = spec.daily_units.map(Micros::units);
            let form = campaign_form(&format!("Campaign {i}"), bid, total, daily);
            let id = save_campaign(&run.db, &actor, None, form)
                .await
                .expect("save campaign");
            let ad = submit_with_ad(&run.db, &actor, id, "Fresh beans every Monday").await;
            let mut model = CampaignModel {
                id,
                account: spec.account,
                status: Status::Draft,
                bid,
                total,
                daily,
                ads: vec![AdModel {
                    id: ad,
                    live: None,
                    paused: false,
                }],
            };
            if spec.launched {
                let version = latest_version(&run.db, ad).await;
                approve(&run.db, version, now).await;
                model.status = Status::Running;
                model.ads[0].live = Some(version.0);
            }
            run.campaigns.push(model);
        }
        run.verify().await;
        run
    }

    async fn apply(&mut self, op: &Op) {
        self.step = format!("{op:?} at {}", self.now);
        match op {
            Op::TopUp {
                account,
                reference,
                units,
            } => {
                self.top_up(*account, &format!("ref-{reference}"), *units)
                    .await
            }
            Op::Decide { channel, slot } => {
                self.decide(channel % self.channels.len(), format!("s{slot}"))
                    .await
            }
            Op::Events(batch) => self.events(batch).await,
            Op::Edit {
                campaign,
                bid_cents,
                total_units,
                daily_units,
            } => {
                self.edit(
                    campaign % self.campaigns.len(),
                    Micros(bid_cents * 10_000),
                    Micros::units(*total_units),
                    daily_units.map(Micros::units),
                )
                .await
            }
            Op::Pause { campaign } => {
                self.act(campaign % self.campaigns.len(), CampaignAction::Pause)
                    .await
            }
            Op::Resume { campaign } => {
                self.act(campaign % self.campaigns.len(), CampaignAction::Resume)
                    .await
            }
            Op::PauseAd {
                campaign,
                ad,
                paused,
            } => {
                let c = campaign % self.campaigns.len();
                let a = ad % self.campaigns[c].ads.len();
                let actor = self.actor_of(c);
                ads::set_paused(&self.db, &actor, self.campaigns[c].ads[a].id, *paused)
                    .await
                    .expect("pause or resume an ad");
                self.campaigns[c].ads[a].paused = *paused;
            }
            Op::NewAd { campaign, approve } => {
                self.new_ad(campaign % self.campaigns.len(), *approve).await
            }
            Op::EditAd {
                campaign,
                ad,
                approve,
            } => {
                self.edit_ad(campaign % self.campaigns.len(), *ad, *approve)
                    .await
            }
            Op::Approve { campaign } => {
                let c = campaign % self.campaigns.len();
                if self.campaigns[c].status == Status::Draft {
                    let ad = self.campaigns[c].ads[0].id;
                    let version = latest_version(&self.db, ad).await;
                    approve(&self.db, version, self.now).await;
                    self.campaigns[c].status = Status::Running;
                    self.campaigns[c].ads[0].live = Some(version.0);
                }
            }
            Op::Share(bp) => {
                set_setting(&self.db, "publisher_share_bp", *bp).await;
                self.share_bp = *bp;
            }
            Op::MinCpm(micros) => {
                set_setting(&self.db, "min_cpm_micros", *micros).await;
                self.floor = Micros(*micros);
            }
            Op::HoldTtl(minutes) => {
                set_setting(&self.db, "hold_ttl_minutes", *minutes).await;
                self.ttl_minutes = *minutes;
            }
            Op::Sweep { limit } => self.sweep(*limit).await,
            Op::Advance { seconds } => self.now += Duration::seconds(*seconds),
        }
        self.verify().await;
    }

    fn actor_of(&self, campaign: usize) -> Actor {
        self.accounts[self.campaigns[campaign].account]
            .actor
            .clone()
    }

    fn text(&mut self) -> String {
        self.texts += 1;
        format!("Fresh beans every Monday, roast number {}", self.texts)
    }

    async fn top_up(&mut self, account: usize, reference: &str, units: i64) {
        let amount = Micros::units(units);
        let a = &self.accounts[account];
        let got = credit(&self.db, &a.actor, amount, reference, self.now).await;
        match a.top_ups.get(reference) {
            None => {
                let r = got.expect("a new reference is credited");
                assert!(!r.already_credited, "{}", self.step);
                self.accounts[account]
                    .top_ups
                    .insert(reference.to_owned(), amount.0);
                assert_eq!(r.available.0, self.available(account), "{}", self.step);
            }
            Some(&first) if first == amount.0 => {
                let r = got.expect("the same credit again is answered");
                assert!(r.already_credited, "{}: credited twice", self.step);
                assert_eq!(r.available.0, self.available(account), "{}", self.step);
            }
            Some(_) => match got {
                Err(AppError::Invalid(fields)) => {
                    assert!(fields.get("reference").is_some(), "{}", self.step)
                }
                other => panic!(
                    "{}: a reused reference with another amount gave {other:?}",
                    self.step
                ),
            },
        }
    }

    /// The model's available balance of `account`: credited less held plus released.
    fn available(&self, account: usize) -> i64 {
        let credited: i64 = self.accounts[account].top_ups.values().sum();
        self.decisions
            .iter()
            .filter(|d| self.campaigns[d.campaign].account == account)
            .fold(credited, |sum, d| sum - d.held + d.released)
    }

    async fn decide(&mut self, ch: usize, slot: String) {
        let handle = self.channels[ch].handle.clone();
        let got =
            delivery::decide(&self.db, &self.engine, self.key, &handle, &slot, self.now).await;
        if let Some((first_channel, first)) = self.slots.get(&slot) {
            if *first_channel == ch {
                assert_eq!(
                    got.as_ref().ok(),
                    Some(first),
                    "{}: a repeated slot answers as the first time",
                    self.step
                );
            } else {
                assert!(
                    matches!(got, Err(AppError::Conflict(_))),
                    "{}: a slot id reused on another channel gave {got:?}",
                    self.step
                );
            }
            return;
        }
        let decided = got.unwrap_or_else(|e| panic!("{}: decide failed: {e:?}", self.step));
        self.slots.insert(slot, (ch, decided.clone()));
        let Decided::Ad(answer) = decided else {
            return;
        };
        let row = delivery_decision::Entity::find_by_id(answer.decision_id)
            .one(&self.db)
            .await
            .expect("query")
            .expect("the decision was written");
        let step = &self.step;
        assert!(
            self.channels[ch].english,
            "{step}: an unmatched channel got an ad"
        );
        let c = self
            .campaigns
            .iter()
            .position(|m| m.id.0 == row.campaign_id)
            .unwrap_or_else(|| panic!("{step}: decision for unknown campaign {}", row.campaign_id));
        let campaign = &self.campaigns[c];
        assert!(
            campaign.serves(self.floor),
            "{step}: campaign {c} won while it may not serve: {campaign:?}"
        );
        let ad = campaign
            .ads
            .iter()
            .find(|a| a.id.0 == row.ad_id)
            .unwrap_or_else(|| panic!("{step}: the ad is not the campaign's"));
        assert!(
            ad.live == Some(answer.ad_version_id)
                && !ad.paused
                && row.ad_version_id == ad.live.unwrap_or(0),
            "{step}: served version {} of {ad:?}",
            answer.ad_version_id
        );
        let rival = self
            .campaigns
            .iter()
            .enumerate()
            .filter(|(i, m)| *i != c && m.serves(self.floor))
            .map(|(_, m)| m.bid)
            .max()
            .unwrap_or(self.floor)
            .max(self.floor);
        assert!(
            answer.price_cpm >= self.floor
                && answer.price_cpm <= campaign.bid
                && answer.price_cpm <= rival,
            "{step}: price {:?} with floor {:?}, bid {:?}, best rival {rival:?}",
            answer.price_cpm,
            self.floor,
            campaign.bid
        );
        let held = answer
            .price_cpm
            .cpm_cost(self.channels[ch].avg_views)
            .expect("cost");
        assert!(
            held.0 > 0 && answer.held == held && row.held == held.0,
            "{step}: held"
        );
        let expires_at = self.now + Duration::minutes(self.ttl_minutes.max(1));
        assert_eq!(
            (row.created_at, row.expires_at, answer.expires_at),
            (self.now, expires_at, expires_at),
            "{step}: times"
        );
        let tz = self.accounts[campaign.account].tz;
        assert_eq!(
            row.local_day,
            self.now.with_timezone(&tz).date_naive(),
            "{step}: the decision's local day"
        );
        let channel_day = self
            .decisions
            .iter()
            .filter(|d| d.channel == ch && d.created_at.date_naive() == self.now.date_naive())
            .count() as i64;
        assert!(
            channel_day < self.slots_per_day,
            "{step}: channel {ch} already had {channel_day} slots today"
        );
        let (total, daily) = (campaign.total, campaign.daily);
        self.decisions.push(DecisionModel {
            id: row.id,
            campaign: c,
            channel: ch,
            price: answer.price_cpm,
            held: held.0,
            posted: 0,
            released: 0,
            views: 0,
            clicks: 0,
            created_at: self.now,
            expires_at,
            settled: false,
        });
        // The caps in force when the decision was made.
        let books = audit_books(&self.db, &self.step).await;
        let (_, committed) = books.spend.get(&row.campaign_id).copied().unwrap_or((0, 0));
        assert!(
            committed <= total.0,
            "{}: committed {committed} over the total budget {total:?}",
            self.step
        );
        if let Some(daily) = daily {
            let today = books
                .day_committed
                .get(&(row.campaign_id, row.local_day))
                .copied()
                .unwrap_or(0);
            assert!(
                today <= daily.0,
                "{}: committed {today} on {} over the daily budget {daily:?}",
                self.step,
                row.local_day
            );
        }
    }

    async fn events(&mut self, batch: &[EventOp]) {
        let mut inputs = Vec::new();
        for e in batch {
            let input = match *e {
                EventOp::New {
                    decision,
                    id,
                    views,
                    clicks,
                    at,
                } if !self.decisions.is_empty() => {
                    let d = &self.decisions[decision % self.decisions.len()];
                    let at = match at {
                        At::Within(percent) => {
                            let span = (self.now - d.created_at).num_seconds();
                            d.created_at + Duration::seconds(span * i64::from(percent) / 100)
                        }
                        At::BeforeDecision => d.created_at - Duration::seconds(1),
                        At::Future => self.now + Duration::minutes(6),
                    };
                    EventInput {
                        event_id: format!("e{id}"),
                        decision_id: d.id,
                        views,
                        clicks,
                        at,
                    }
                }
                EventOp::Resend { nth } | EventOp::Mutate { nth } if !self.accepted.is_empty() => {
                    let id = &self.accepted[nth % self.accepted.len()];
                    let first = &self.events[id];
                    let more = i64::from(matches!(e, EventOp::Mutate { .. }));
                    EventInput {
                        event_id: id.clone(),
                        decision_id: first.decision_id,
                        views: first.views + more,
                        clicks: first.clicks,
                        at: first.at,
                    }
                }
                EventOp::Unknown { id, views } | EventOp::New { id, views, .. } => EventInput {
                    event_id: format!("u{id}"),
                    decision_id: UNKNOWN_DECISION,
                    views,
                    clicks: 0,
                    at: self.now,
                },
                EventOp::Resend { .. } | EventOp::Mutate { .. } => continue,
            };
            inputs.push(input);
        }
        if inputs.is_empty() {
            return;
        }
        let got = delivery::ingest(&self.db, &self.engine, self.key, &inputs, self.now)
            .await
            .unwrap_or_else(|e| panic!("{}: ingest failed: {e:?}", self.step));
        assert_eq!(
            got.len(),
            inputs.len(),
            "{}: one result per event",
            self.step
        );
        // The service takes a batch in decision order (then as sent); so does the model.
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| (inputs[i].decision_id, i));
        let mut charged = Vec::new();
        for i in order {
            let expected = self.expect_event(&inputs[i]);
            match (&expected, &got[i]) {
                (
                    EventResult::Rejected {
                        status: a,
                        field: fa,
                        ..
                    },
                    EventResult::Rejected {
                        status: b,
                        field: fb,
                        ..
                    },
                ) => assert_eq!((a, fa), (b, fb), "{}: event {:?}", self.step, inputs[i]),
                (e, g) => assert_eq!(e, g, "{}: event {:?}", self.step, inputs[i]),
            }
            if let EventResult::Accepted { posted } = expected
                && posted.0 > 0
            {
                charged.push((inputs[i].event_id.clone(), posted));
            }
        }
        if charged.is_empty() {
            return;
        }
        // Each charge was split with the publisher share in force.
        let books = audit_books(&self.db, &self.step).await;
        for (event_id, posted) in charged {
            let row = books
                .events
                .iter()
                .find(|e| e.event_id == event_id)
                .expect("an accepted event is stored");
            let part = |suffix: &str| {
                let key = format!("post:{}:{suffix}", row.id);
                books
                    .posts
                    .iter()
                    .find(|t| t.idempotency_key == key)
                    .map_or(0, |t| t.amount)
            };
            let publisher = publisher_part(posted, self.share_bp).0;
            assert_eq!(
                (part("publisher"), part("platform")),
                (publisher, posted.0 - publisher),
                "{}: the split of {event_id} at {} bp",
                self.step,
                self.share_bp
            );
        }
    }

    /// What ingest must answer for `e`, applied to the model when accepted.
    fn expect_event(&mut self, e: &EventInput) -> EventResult {
        let reject = |status: u16, field: &'static str| EventResult::Rejected {
            status,
            code: "",
            field,
            message: String::new(),
        };
        if e.views == 0 && e.clicks == 0 {
            return reject(422, "views");
        }
        if e.at > self.now + delivery::ingest::CLOCK_SKEW {
            return reject(422, "at");
        }
        if let Some(first) = self.events.get(&e.event_id) {
            let same = first.decision_id == e.decision_id
                && first.views == e.views
                && first.clicks == e.clicks
                && first.at == e.at;
            return if same {
                EventResult::Replayed {
                    posted: Micros(first.posted),
                }
            } else {
                reject(409, "event_id")
            };
        }
        let Some(d) = self.decisions.iter_mut().find(|d| d.id == e.decision_id) else {
            return reject(404, "decision_id");
        };
        if e.at < d.created_at {
            return reject(422, "at");
        }
        if d.clicks + e.clicks > d.views + e.views {
            return reject(422, "clicks");
        }
        let left = d.held - d.released;
        let due = d
            .price
            .cpm_cost(d.views + e.views)
            .map_or(left, |c| c.0.min(left));
        let posted = (due - d.posted).max(0);
        d.views += e.views;
        d.clicks += e.clicks;
        d.posted += posted;
        self.events.insert(
            e.event_id.clone(),
            EventModel {
                decision_id: e.decision_id,
                views: e.views,
                clicks: e.clicks,
                at: e.at,
                posted,
            },
        );
        self.accepted.push(e.event_id.clone());
        EventResult::Accepted {
            posted: Micros(posted),
        }
    }

    async fn edit(&mut self, c: usize, bid: Micros, total: Micros, daily: Option<Micros>) {
        let posted: i64 = self
            .decisions
            .iter()
            .filter(|d| d.campaign == c)
            .map(|d| d.posted)
            .sum();
        let mut refused = Vec::new();
        if bid < self.floor {
            refused.push("bid");
        }
        if total < MIN_TOTAL || total.0 < posted {
            refused.push("total_budget");
        }
        if daily.is_some_and(|d| d > total) {
            refused.push("daily_budget");
        }
        let actor = self.actor_of(c);
        let form = campaign_form(&format!("Campaign {c}"), bid, total, daily);
        match save_campaign(&self.db, &actor, Some(self.campaigns[c].id), form).await {
            Ok(_) => {
                assert!(
                    refused.is_empty(),
                    "{}: saved despite {refused:?}",
                    self.step
                );
                let m = &mut self.campaigns[c];
                (m.bid, m.total, m.daily) = (bid, total, daily);
            }
            Err(AppError::Invalid(fields)) => {
                let mut got: Vec<&str> = fields.0.keys().map(String::as_str).collect();
                got.sort_unstable();
                refused.sort_unstable();
                assert_eq!(got, refused, "{}: refused fields", self.step);
            }
            Err(other) => panic!("{}: save failed: {other:?}", self.step),
        }
    }

    async fn act(&mut self, c: usize, action: CampaignAction) {
        let actor = self.actor_of(c);
        let got = write::act(&self.db, &actor, self.campaigns[c].id, action).await;
        let status = self.campaigns[c].status;
        let to = match (status, action) {
            (Status::Running, CampaignAction::Pause) => Some(Status::Paused),
            (Status::Paused, CampaignAction::Resume) => Some(Status::Running),
            _ => None,
        };
        match (to, got) {
            (Some(to), Ok(_)) => self.campaigns[c].status = to,
            (None, Err(AppError::Conflict(_))) => {}
            (to, got) => panic!(
                "{}: {action:?} from {status:?}: expected {to:?}, got {got:?}",
                self.step
            ),
        }
    }

    async fn new_ad(&mut self, c: usize, approved: bool) {
        if self.campaigns[c].status == Status::Draft || self.campaigns[c].ads.len() >= 3 {
            return;
        }
        let actor = self.actor_of(c);
        let text = self.text();
        let ad = ads::save(
            &self.db,
            &actor,
            self.campaigns[c].id,
            None,
            ad_input(&text),
        )
        .await
        .expect("save a new ad");
        let live = self.review(&actor, ad, approved).await;
        self.campaigns[c].ads.push(AdModel {
            id: ad,
            live,
            paused: false,
        });
    }

    async fn edit_ad(&mut self, c: usize, a: usize, approved: bool) {
        if self.campaigns[c].status == Status::Draft {
            return;
        }
        let a = a % self.campaigns[c].ads.len();
        let actor = self.actor_of(c);
        let ad = self.campaigns[c].ads[a].id;
        let text = self.text();
        ads::save(
            &self.db,
            &actor,
            self.campaigns[c].id,
            Some(ad),
            ad_input(&text),
        )
        .await
        .expect("edit an ad");
        if let Some(live) = self.review(&actor, ad, approved).await {
            self.campaigns[c].ads[a].live = Some(live);
        }
    }

    /// Sends the ad's newest version to review and decides it; the approved version's id.
    async fn review(&self, actor: &Actor, ad: AdId, approved: bool) -> Option<i64> {
        ads::submit(&self.db, actor, ad)
            .await
            .expect("submit the ad");
        let version = latest_version(&self.db, ad).await;
        let verdict = if approved {
            app::model::Verdict::Approved
        } else {
            app::model::Verdict::Declined
        };
        ads::apply_review(&self.db, version, verdict, self.now)
            .await
            .expect("review");
        approved.then_some(version.0)
    }

    async fn sweep(&mut self, limit: u64) {
        let mut due: Vec<(DateTime<Utc>, i64)> = self
            .decisions
            .iter()
            .filter(|d| !d.settled && d.expires_at <= self.now)
            .map(|d| (d.expires_at, d.id))
            .collect();
        due.sort();
        let done = sweep::release_expired(&self.db, self.now, limit)
            .await
            .unwrap_or_else(|e| panic!("{}: sweep failed: {e:?}", self.step));
        let books = audit_books(&self.db, &self.step).await;
        let settled: Vec<(DateTime<Utc>, i64)> = due
            .iter()
            .copied()
            .filter(|(_, id)| books.decisions[id].settled_at.is_some())
            .collect();
        let expected = (limit as usize).min(due.len());
        assert_eq!(
            (done.decisions as usize, settled.len()),
            (expected, expected),
            "{}: settled of {due:?}",
            self.step
        );
        let newest_settled = settled.iter().map(|(t, _)| *t).max();
        let oldest_open = due
            .iter()
            .filter(|d| !settled.contains(d))
            .map(|(t, _)| *t)
            .min();
        if let (Some(newest), Some(oldest)) = (newest_settled, oldest_open) {
            assert!(newest <= oldest, "{}: the oldest holds go first", self.step);
        }
        let mut amount = 0;
        for (_, id) in settled {
            let row = &books.decisions[&id];
            let d = self
                .decisions
                .iter_mut()
                .find(|d| d.id == id)
                .expect("a modelled decision");
            assert_eq!(row.settled_at, Some(self.now), "{}", self.step);
            d.settled = true;
            d.released = d.held - d.posted;
            amount += d.released;
        }
        assert_eq!(done.amount, Micros(amount), "{}: released", self.step);
    }

    /// The books hold their invariants and say what the model says.
    async fn verify(&self) {
        let step = &self.step;
        let books = audit_books(&self.db, step).await;
        assert_eq!(
            books.events.len(),
            self.accepted.len(),
            "{step}: stored events vs accepted ones"
        );
        assert_eq!(
            books.decisions.len(),
            self.decisions.len(),
            "{step}: decisions"
        );
        for d in &self.decisions {
            let row = &books.decisions[&d.id];
            assert_eq!(
                (
                    row.views,
                    row.clicks,
                    row.posted,
                    row.released,
                    row.settled_at.is_some()
                ),
                (d.views, d.clicks, d.posted, d.released, d.settled),
                "{step}: decision {}",
                d.id
            );
        }
        for (i, a) in self.accounts.iter().enumerate() {
            assert_eq!(
                books
                    .available
                    .get(&account(&a.actor).0)
                    .copied()
                    .unwrap_or(0),
                self.available(i),
                "{step}: account {i}'s available balance"
            );
        }
        for (c, m) in self.campaigns.iter().enumerate() {
            let mine = self.decisions.iter().filter(|d| d.campaign == c);
            let (posted, committed) =
                mine.fold((0, 0), |(p, k), d| (p + d.posted, k + d.held - d.released));
            assert_eq!(
                books.spend.get(&m.id.0).copied().unwrap_or((0, 0)),
                (posted, committed),
                "{step}: campaign {c}'s (posted, committed)"
            );
        }
        let top_ups: usize = self.accounts.iter().map(|a| a.top_ups.len()).sum();
        assert_eq!(books.top_ups.len(), top_ups, "{step}: top-ups");
    }
}

/// 256 cases unless `PROPTEST_CASES` says otherwise; a failing case is kept beside this file
/// (cargo runs the test in the package's directory) and tried first next time.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/ledger_properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_step_keeps_the_books_and_does_what_the_model_says(
        setup in setup(),
        ops in prop::collection::vec(op(), 4..40),
    ) {
        let template = template();
        runtime().block_on(async {
            let (db, _scratch) = fresh_case(template).await;
            let mut run = Run::start(db, template, &setup).await;
            for op in &ops {
                run.apply(op).await;
            }
            run.db.close().await.expect("close");
        });
    }
}

#[tokio::test]
#[ignore = "known bug: a total budget may be lowered to what is posted though more is held, and \
            those holds then post past it"]
async fn a_lowered_total_budget_still_caps_what_the_campaign_is_charged() {
    for (b, db) in migrations::db::fresh_all().await {
        set_setting(&db, "ad_slots_per_day", 24).await;
        let me = advertiser(&db, "ada@example.com", "Europe/Berlin").await;
        channel(&db, "big", 9_000, "en").await;
        let form = |units| campaign_form("Lowered", Micros::units(1), Micros::units(units), None);
        let (id, _) = running_campaign(&db, &me, form(40), Utc::now()).await;
        credit(&db, &me, Micros::units(100), "first", Utc::now())
            .await
            .expect(b);
        let key = network_key(&db, Utc::now()).await;
        let engine = DeliveryEngine::default();
        let now = Utc::now();
        // A lone bidder pays the €0.50 floor: €4.50 held a slot on 9,000 views; seven slots fit
        // €40 (a slot is admitted only while its cost at the €1 bid, €9, still fits).
        let mut events = Vec::new();
        for slot in 0..7 {
            let decided = delivery::decide(&db, &engine, key, "big", &format!("s{slot}"), now)
                .await
                .expect(b);
            let Decided::Ad(answer) = decided else {
                panic!("{b}: slot {slot} found no ad");
            };
            events.push(EventInput {
                event_id: format!("seen-{slot}"),
                decision_id: answer.decision_id,
                views: 9_000,
                clicks: 0,
                at: now,
            });
        }
        save_campaign(&db, &me, Some(id), form(20))
            .await
            .expect("nothing is posted yet, so the total may go down to €20");
        delivery::ingest(&db, &engine, key, &events, now)
            .await
            .expect(b);
        let books = audit_books(&db, b).await;
        let (posted, _) = books.spend.get(&id.0).copied().unwrap_or((0, 0));
        assert!(
            posted <= Micros::units(20).0,
            "{b}: charged {posted} micros against a total budget of €20"
        );
    }
}
