//! A fresh database per case: a copy of one migrated template with four advertisers (Berlin
//! and the [`SECOND_ZONES`]) and a network key, so that a case pays for neither the migrations nor
//! the password hashes. Then the case's setup, run through the real services.

use crate::{
    SECOND_ZONES,
    delivery_support::*,
    epoch,
    model::{AccountModel, AdModel, CampaignModel, ChannelModel, Run, Status},
    steps::Setup,
};
use app::{
    model::Micros,
    service::{Actor, delivery::DeliveryEngine},
};
use chrono::Duration;
use sea_orm::DatabaseConnection;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

pub struct Template {
    path: PathBuf,
    /// Berlin's, then one per [`SECOND_ZONES`].
    users: [i64; 4],
    /// Finance staff (built as the operator grants the role: the user's address is not
    /// confirmed, so a viewer read from the database would hold no staff role).
    finance: Actor,
    key: i64,
}

static TEMPLATE: OnceLock<Template> = OnceLock::new();
static CASES: AtomicU32 = AtomicU32::new(0);

pub fn runtime() -> tokio::runtime::Runtime {
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

pub fn template() -> &'static Template {
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
            let finance = finance_user(&db, "finance@example.com").await;
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
            Template {
                path,
                users,
                finance,
                key,
            }
        })
    })
}

/// Removes a case's database files when the case ends, passed or failed.
pub struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

pub async fn fresh_case(template: &Template) -> (DatabaseConnection, Scratch) {
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

impl Run {
    pub async fn start(db: DatabaseConnection, template: &Template, setup: &Setup) -> Self {
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
                refunds: HashMap::new(),
            });
        }
        let finance = template.finance.clone();
        let mut run = Run {
            db,
            engine: DeliveryEngine::default(),
            key: template.key,
            now,
            accounts,
            finance,
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
                edited_at: 0,
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
}
