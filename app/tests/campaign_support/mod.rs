//! Helpers shared by the campaign service tests: owners and members, a valid builder form,
//! ads, saves through the real service, and reads of what was stored.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use app::{
    entity::{ad_version, audit_event, campaign, channel},
    error::AppError,
    model::{
        AccountId, AccountRole, AdId, AdInput, AdVersionId, AdVersionStatus, AuditAction,
        CampaignForm, CampaignId, CampaignStatus, Schedule, SignUpInput, TargetingForm, Verdict,
    },
    service::{
        Actor, ads, auth, campaigns::write, forecast::ForecastEngine, passwords::PasswordHasher,
    },
};
use chrono::{Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

pub async fn owner(db: &DatabaseConnection, email: &str) -> Actor {
    let id = auth::sign_up(
        db,
        &PasswordHasher::new(2),
        SignUpInput {
            email: email.into(),
            password: "violet harbour 42 kites".into(),
            account_name: "Acme Ads".into(),
            time_zone: "Europe/Berlin".into(),
        },
        None,
    )
    .await
    .expect("sign up");
    let viewer = auth::viewer(db, id, None)
        .await
        .expect("viewer")
        .expect("exists");
    Actor::from_viewer(viewer, None)
}

/// A user who is `role` in `account` (and works in it).
pub async fn member(
    db: &DatabaseConnection,
    account: AccountId,
    email: &str,
    role: AccountRole,
) -> Actor {
    let mut actor = owner(db, email).await;
    db.execute_unprepared(&format!(
        "INSERT INTO account_member (account_id, user_id, role, created_at) VALUES ({account}, {}, '{}', CURRENT_TIMESTAMP)",
        actor.user_id,
        role.code()
    ))
    .await
    .expect("membership");
    actor.membership = Some((account, role));
    actor
}

pub fn account(actor: &Actor) -> AccountId {
    actor.membership.expect("member").0
}

pub fn local_in(days: i64) -> String {
    // Berlin is UTC+1 in winter and +2 in summer; a day's margin keeps "future" future.
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%dT08:00")
        .to_string()
}

pub fn form(name: &str) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        targeting: TargetingForm {
            languages: vec!["en".into(), "de".into()],
            min_subscribers: "10k".into(),
            max_subscribers: "2M".into(),
            bid: "1.25".into(),
            daily_budget: "15".into(),
            ..TargetingForm::default()
        },
        total_budget: "300".into(),
        start: local_in(3),
        end: local_in(30),
        schedule: Some(Schedule::always()),
    }
}

/// [`form`] starting as soon as an ad is approved.
pub fn asap(name: &str) -> CampaignForm {
    CampaignForm {
        start: String::new(),
        ..form(name)
    }
}

/// How many audit events of `action` were recorded.
pub async fn audit_count(db: &DatabaseConnection, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action.code()))
        .count(db)
        .await
        .expect("count")
}

pub fn ad_input(text: &str) -> AdInput {
    AdInput {
        title: "Launch".into(),
        text: text.into(),
        button_label: "Open".into(),
        destination_url: "https://acme.coffee/club".into(),
    }
}

pub async fn engine(db: &DatabaseConnection) -> ForecastEngine {
    ForecastEngine::load(db).await.expect("engine")
}

pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<CampaignId>,
    f: CampaignForm,
) -> Result<CampaignId, AppError> {
    let engine = engine(db).await;
    write::save(db, &engine.index(), actor, id, f)
        .await
        .map(|o| o.id)
}

pub async fn versions(db: &DatabaseConnection, ad: AdId) -> Vec<(i32, AdVersionStatus)> {
    let mut rows: Vec<(i32, AdVersionStatus)> = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.0))
        .all(db)
        .await
        .expect("versions")
        .into_iter()
        .map(|v| (v.number, v.status))
        .collect();
    rows.sort_by_key(|(n, _)| *n);
    rows
}

pub async fn version_id(db: &DatabaseConnection, ad: AdId, number: i32) -> AdVersionId {
    let row = ad_version::Entity::find()
        .filter(ad_version::Column::AdId.eq(ad.0))
        .filter(ad_version::Column::Number.eq(number))
        .one(db)
        .await
        .expect("query")
        .expect("version");
    AdVersionId(row.id)
}

pub async fn status(db: &DatabaseConnection, id: CampaignId) -> CampaignStatus {
    campaign::Entity::find_by_id(id.0)
        .one(db)
        .await
        .expect("query")
        .expect("campaign")
        .status
}

/// A campaign with one approved ad, running now.
pub async fn running(db: &DatabaseConnection, actor: &Actor) -> (CampaignId, AdId) {
    let id = save(db, actor, None, asap("Live")).await.expect("save");
    let ad = ads::save(db, actor, id, None, ad_input("Fresh beans every Monday"))
        .await
        .expect("ad");
    write::submit(db, actor, id).await.expect("submit");
    ads::apply_review(
        db,
        version_id(db, ad, 1).await,
        Verdict::Approved,
        Utc::now(),
    )
    .await
    .expect("approve");
    assert_eq!(status(db, id).await, CampaignStatus::Running);
    (id, ad)
}

/// Records `spend` micros of delivery for `ad` on 2026-11-`day` (creating a channel to carry
/// it) in the rollup and the spend counter, as delivery would.
pub async fn record_spend(
    db: &DatabaseConnection,
    campaign: CampaignId,
    ad: AdId,
    day: u32,
    spend: i64,
) {
    if channel::Entity::find()
        .one(db)
        .await
        .expect("channels")
        .is_none()
    {
        db.execute_unprepared("INSERT INTO topic (slug, name) VALUES ('food', 'Food')")
            .await
            .expect("topic");
        db.execute_unprepared(
            "INSERT INTO channel (handle, title, topic_id, language, subscribers, avg_views, posts_per_day, status, updated_at) \
             SELECT 'beans', 'Beans', id, 'en', 50000, 9000, 3.0, 'active', CURRENT_TIMESTAMP FROM topic WHERE slug = 'food'",
        )
        .await
        .expect("channel");
    }
    let channel = channel::Entity::find()
        .one(db)
        .await
        .expect("query")
        .expect("channel");
    let account_id = campaign::Entity::find_by_id(campaign.0)
        .one(db)
        .await
        .expect("query")
        .expect("campaign")
        .account_id;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, day).expect("date");
    let add = app::service::reports::rollup::Add {
        account: account_id,
        views: 10_000,
        clicks: 10,
        spend,
        reversed: 0,
    };
    app::service::reports::rollup::add(
        db,
        &std::collections::BTreeMap::from([((campaign.0, ad.0, channel.id, day), add)]),
    )
    .await
    .expect("rollup");
    // The spend counter the ledger keeps (what the clock and the pages read); a lifecycle
    // fixture, not a ledger test: the ledger's own tests drive real decisions and events.
    let backend = db.get_database_backend();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO campaign_spend (campaign_id, posted, committed) VALUES ($1, $2, $2) \
                 ON CONFLICT (campaign_id) DO UPDATE SET posted = campaign_spend.posted + $2, \
                 committed = campaign_spend.committed + $2"
            }
            _ => {
                "INSERT INTO campaign_spend (campaign_id, posted, committed) VALUES (?1, ?2, ?2) \
                 ON CONFLICT (campaign_id) DO UPDATE SET posted = campaign_spend.posted + ?2, \
                 committed = campaign_spend.committed + ?2"
            }
        },
        [campaign.0.into(), spend.into()],
    ))
    .await
    .expect("spend counter");
}
