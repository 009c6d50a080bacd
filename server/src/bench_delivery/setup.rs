//! The benchmark's world: a fresh database (a temporary SQLite file, or a PostgreSQL database
//! created for the run and dropped after it), the generated catalog, ad accounts credited
//! through finance, and running campaigns with approved ads bulk-inserted in transactions
//! (reviewing thousands of campaigns one by one would take longer than the benchmark).

use super::Options;
use app::{
    entity::{ad, ad_account, ad_version, app_user, campaign, channel},
    model::{AccountId, AdVersionStatus, CampaignStatus, Micros, Targeting},
    service::{
        catalog_seed::{self, TOPICS},
        delivery::keys,
        finance,
    },
};
use chrono::Utc;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::{path::PathBuf, time::Instant};

/// Rows per multi-row INSERT (well under both databases' bound-parameter limits).
const ROWS_PER_INSERT: usize = 500;
/// Each ad account's opening balance: enough for every decision of the run.
const CREDIT_UNITS: i64 = 5_000_000;

/// Where one run's database lives.
pub struct Target {
    pub name: &'static str,
    place: Place,
}

enum Place {
    Sqlite { dir: PathBuf },
    Postgres { server: String, database: String },
}

impl Target {
    /// A new SQLite file in a temporary folder of this process.
    pub fn sqlite() -> Result<Self, String> {
        let dir =
            std::env::temp_dir().join(format!("herald-bench-delivery-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self {
            name: "sqlite",
            place: Place::Sqlite { dir },
        })
    }

    /// A new database `herald_bench_<pid>` on the PostgreSQL server of `url`.
    pub async fn postgres(url: &str) -> Result<Self, String> {
        let database = format!("herald_bench_{}", std::process::id());
        let admin = Database::connect(url)
            .await
            .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {database}"))
            .await
            .map_err(|e| e.to_string())?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {database}"))
            .await
            .map_err(|e| format!("cannot create {database}: {e}"))?;
        let _ = admin.close().await;
        Ok(Self {
            name: "postgres",
            place: Place::Postgres {
                server: url.to_owned(),
                database,
            },
        })
    }

    /// Where the data is, for the log.
    pub fn describe(&self) -> String {
        match &self.place {
            Place::Sqlite { dir } => dir.join("bench.db").display().to_string(),
            Place::Postgres { database, .. } => format!("database {database}"),
        }
    }

    fn url(&self) -> String {
        match &self.place {
            Place::Sqlite { dir } => format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
            Place::Postgres { server, database } => {
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
                format!("{base}/{database}")
            }
        }
    }

    /// Opens the database as Herald does (pool, pragmas) and migrates it.
    pub async fn open(&self) -> Result<DatabaseConnection, String> {
        let started = Instant::now();
        let db = migrations::db::connect(&self.url())
            .await
            .map_err(|e| e.to_string())?;
        migrations::db::migrate(&db)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "set-up: migrated in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(db)
    }

    /// Removes the database (best effort: a failure is printed, not returned).
    pub async fn remove(&self) {
        match &self.place {
            Place::Sqlite { dir } => {
                if let Err(e) = std::fs::remove_dir_all(dir) {
                    eprintln!("could not remove {}: {e}", dir.display());
                }
            }
            Place::Postgres { server, database } => {
                let dropped = async {
                    let admin = Database::connect(server.as_str()).await?;
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                        ))
                        .await?;
                    admin.close().await
                }
                .await;
                if let Err(e) = dropped {
                    eprintln!("could not drop {database}: {e}");
                }
            }
        }
    }
}

/// What the measurements need of the set-up.
pub struct World {
    /// The delivery network's key (its id for the services, its secret for HTTP).
    pub key_id: i64,
    pub secret: String,
    /// Handles of the channels delivery may serve (active, large enough).
    pub eligible: Vec<String>,
}

/// Fills the fresh database `db` and prints how long each part took.
pub async fn build(db: &DatabaseConnection, options: &Options) -> Result<World, String> {
    let err = |e: app::error::AppError| e.to_string();
    let dberr = |e: sea_orm::DbErr| e.to_string();
    let mut started = Instant::now();
    let mut lap = |what: &str| {
        println!("set-up: {what} in {:.1} s", started.elapsed().as_secs_f64());
        started = Instant::now();
    };
    catalog_seed::insert(db, options.channels, options.seed)
        .await
        .map_err(err)?;
    lap(&format!("{} channels inserted", options.channels));

    let now = Utc::now();
    let user = app_user::Entity::insert(app_user::ActiveModel {
        email: Set("bench-finance@example.com".into()),
        password_hash: Set("!".into()),
        created_at: Set(now),
        email_verified_at: Set(Some(now)),
        ..Default::default()
    })
    .exec(db)
    .await
    .map_err(dberr)?
    .last_insert_id;
    let accounts = accounts(db, options.accounts.max(1)).await.map_err(dberr)?;
    for &account in &accounts {
        finance::credit_account(
            db,
            AccountId(account),
            Micros::units(CREDIT_UNITS),
            &format!("BENCH-{account}"),
            "Benchmark opening balance",
            user,
            None,
            now,
        )
        .await
        .map_err(err)?;
    }
    lap(&format!(
        "{} ad accounts created and credited through finance",
        accounts.len()
    ));

    let (campaigns, ads) = campaigns(db, &accounts, user, options)
        .await
        .map_err(dberr)?;
    lap(&format!(
        "{campaigns} running campaigns with {ads} approved ads bulk-inserted"
    ));

    let key = keys::create_unchecked(db, "Benchmark network", None, now)
        .await
        .map_err(err)?;
    let settings = app::service::settings::load(db).await.map_err(err)?;
    let eligible: Vec<String> = channel::Entity::find()
        .select_only()
        .column(channel::Column::Handle)
        .filter(channel::Column::Status.eq(app::service::catalog::ACTIVE))
        .filter(channel::Column::Subscribers.gte(settings.min_subscribers))
        .order_by_asc(channel::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .map_err(dberr)?;
    lap(&format!("{} eligible channels listed", eligible.len()));
    Ok(World {
        key_id: key.id,
        secret: key.secret,
        eligible,
    })
}

const TIME_ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"];

/// Inserts `n` EUR ad accounts in one transaction; their ids in order.
async fn accounts(db: &DatabaseConnection, n: usize) -> Result<Vec<i64>, sea_orm::DbErr> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let rows: Vec<ad_account::ActiveModel> = (0..n)
        .map(|i| ad_account::ActiveModel {
            name: Set(format!("Bench advertiser {i}")),
            currency: Set("EUR".into()),
            time_zone: Set(TIME_ZONES[i % TIME_ZONES.len()].into()),
            created_at: Set(now),
            low_balance_micros: Set(None),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        ad_account::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    let ids = ad_account::Entity::find()
        .select_only()
        .column(ad_account::Column::Id)
        .order_by_asc(ad_account::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(ids)
}

/// Inserts the running campaigns, their 1–2 ads and each ad's approved live version, in one
/// transaction (the database is fresh, so ids come back in insertion order). Returns the
/// numbers of campaigns and ads.
async fn campaigns(
    db: &DatabaseConnection,
    accounts: &[i64],
    user: i64,
    options: &Options,
) -> Result<(usize, usize), sea_orm::DbErr> {
    let now = Utc::now();
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0xC0FFEE);
    let txn = db.begin().await?;
    let mut owners = Vec::with_capacity(options.campaigns);
    let rows: Vec<campaign::ActiveModel> = (0..options.campaigns)
        .map(|i| {
            let account = accounts[rng.random_range(0..accounts.len())];
            owners.push((account, rng.random_range(1..=2usize)));
            let daily = rng
                .random_bool(0.3)
                .then(|| [1_000, 5_000, 20_000][rng.random_range(0..3)] * 1_000_000);
            campaign::ActiveModel {
                account_id: Set(account),
                name: Set(format!("Bench campaign {i}")),
                status: Set(CampaignStatus::Running),
                targeting: Set(serde_json::to_string(&typical(&mut rng)).unwrap_or_default()),
                pending_targeting: Set(None),
                pending_since: Set(None),
                // €0.50 to €5.00 per thousand views, in steps of 10 cents.
                bid_micros: Set(500_000 + rng.random_range(0..=45) * 100_000),
                total_budget_micros: Set([20_000, 50_000, 100_000, 250_000]
                    [rng.random_range(0..4)]
                    * 1_000_000),
                daily_budget_micros: Set(daily),
                start_at: Set(None),
                end_at: Set(None),
                schedule: Set(None),
                submitted_at: Set(Some(now)),
                completed_reason: Set(None),
                created_by: Set(user),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        campaign::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    let ids: Vec<i64> = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .order_by_asc(campaign::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    let ads: Vec<ad::ActiveModel> = ids
        .iter()
        .zip(&owners)
        .flat_map(|(&campaign, &(account, n))| {
            (0..n).map(move |k| ad::ActiveModel {
                campaign_id: Set(campaign),
                account_id: Set(account),
                title: Set(format!("Ad {k} of campaign {campaign}")),
                paused: Set(false),
                live_version_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    for chunk in ads.chunks(ROWS_PER_INSERT) {
        ad::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    let ad_ids: Vec<i64> = ad::Entity::find()
        .select_only()
        .column(ad::Column::Id)
        .order_by_asc(ad::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    let versions: Vec<ad_version::ActiveModel> = ad_ids
        .iter()
        .map(|&ad| ad_version::ActiveModel {
            ad_id: Set(ad),
            number: Set(1),
            text: Set(format!("Sponsored message {ad}: try our product today.")),
            button_label: Set("Learn more".into()),
            destination_url: Set(format!("https://example.com/offer/{ad}")),
            status: Set(AdVersionStatus::Approved),
            created_by: Set(user),
            created_at: Set(now),
            submitted_at: Set(Some(now)),
            decided_at: Set(Some(now)),
            ..Default::default()
        })
        .collect();
    for chunk in versions.chunks(ROWS_PER_INSERT) {
        ad_version::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    txn.execute_unprepared(
        "UPDATE ad SET live_version_id = \
         (SELECT v.id FROM ad_version v WHERE v.ad_id = ad.id AND v.number = 1)",
    )
    .await?;
    txn.commit().await?;
    Ok((ids.len(), ad_ids.len()))
}

/// A typical advertiser's targeting: 2–3 topics, 1–2 languages (as common as in the catalog),
/// a lower size bound and sometimes an upper one.
pub(crate) fn typical(rng: &mut StdRng) -> Targeting {
    let mut topics = Vec::new();
    let want = rng.random_range(2..=3);
    while topics.len() < want {
        let slug = TOPICS[rng.random_range(0..TOPICS.len())].0.to_owned();
        if !topics.contains(&slug) {
            topics.push(slug);
        }
    }
    let total = catalog_seed::language_weight_total();
    let mut languages = Vec::new();
    let want = rng.random_range(1..=2);
    while languages.len() < want {
        let code = catalog_seed::weighted_language(rng.random_range(0..total)).to_owned();
        if !languages.contains(&code) {
            languages.push(code);
        }
    }
    let min = [1_000, 5_000, 10_000, 50_000][rng.random_range(0..4)];
    let max = [None, Some(100_000), Some(1_000_000)][rng.random_range(0..3)];
    Targeting {
        topics,
        languages,
        min_subscribers: Some(min),
        max_subscribers: max,
        ..Targeting::default()
    }
    .normalized()
}
