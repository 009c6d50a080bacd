//! Demo campaigns for the demo advertiser, made through the same services people use: one
//! running (its ads approved by the demo moderator, an edit waiting for review), one whose ad
//! the moderator declined with a reason (so a decline and its appeal can be tried), one draft.

use crate::{
    error::AppError,
    model::{
        AdId, AdInput, CampaignForm, CampaignId, DecisionInput, QueueFilter, Schedule,
        TargetingForm,
    },
    service::{
        Actor, ads,
        campaigns::write,
        forecast::index::{CatalogIndex, IndexSettings},
        moderation, settings,
    },
};
use chrono::Utc;
use sea_orm::{ConnectionTrait, TransactionTrait};

fn campaign(name: &str, topics: &[&str], bid: &str, total: &str, daily: &str) -> CampaignForm {
    CampaignForm {
        name: name.into(),
        targeting: TargetingForm {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            languages: vec!["en".into(), "de".into()],
            min_subscribers: "5k".into(),
            bid: bid.into(),
            daily_budget: daily.into(),
            ..TargetingForm::default()
        },
        total_budget: total.into(),
        ..CampaignForm::default()
    }
}

fn ad(title: &str, text: &str, button: &str, url: &str) -> AdInput {
    AdInput {
        title: title.into(),
        text: text.into(),
        button_label: button.into(),
        destination_url: url.into(),
    }
}

async fn write_ad<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    owner: &Actor,
    id: CampaignId,
    input: AdInput,
) -> Result<AdId, AppError> {
    ads::save(db, owner, id, None, input).await
}

/// Decides every item waiting in the queue as `moderator`, oldest first.
async fn review_all<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    moderator: &Actor,
    decision: DecisionInput,
) -> Result<(), AppError> {
    let waiting = moderation::queue(db, moderator, &QueueFilter::default()).await?;
    for row in waiting.rows {
        moderation::claim(db, moderator, row.id, Utc::now()).await?;
        moderation::decide(db, moderator, row.id, decision.clone()).await?;
    }
    Ok(())
}

/// Creates the demo campaigns in `owner`'s account, reviewed by `moderator`.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    owner: &Actor,
    moderator: &Actor,
) -> Result<(), AppError> {
    let platform = settings::load(db).await?;
    // The demo targets by topic and language only, so no channel needs to be looked up.
    let index = CatalogIndex::build(
        platform.catalog_version,
        IndexSettings {
            min_subscribers: platform.min_subscribers,
            slots_per_day: platform.slots_per_day,
        },
        &[],
    )
    .with_taxonomy(crate::service::catalog::topics(db).await?);
    let mut running = campaign(
        "Winter coffee club",
        &["food", "health"],
        "1.20",
        "500",
        "25",
    );
    running.schedule = Some(Schedule::always());
    let live = write::save(db, &index, owner, None, running).await?.id;
    let first = write_ad(
        db,
        owner,
        live,
        ad(
            "Club launch",
            "Fresh beans roasted every Monday and at your door by Wednesday. Join the club, pause any time.",
            "Join the club",
            "https://acme.coffee/club",
        ),
    )
    .await?;
    write_ad(
        db,
        owner,
        live,
        ad(
            "Gift cards",
            "Give a month of freshly roasted coffee: gift cards from 15 euros, delivered by email in seconds.",
            "Buy a gift card",
            "https://acme.coffee/gifts",
        ),
    )
    .await?;
    write::submit(db, owner, live).await?;
    review_all(
        db,
        moderator,
        DecisionInput {
            approve: true,
            ..Default::default()
        },
    )
    .await?;

    let review = write::save(
        db,
        &index,
        owner,
        None,
        campaign(
            "Espresso gear launch",
            &["food", "ecommerce"],
            "0.90",
            "250",
            "",
        ),
    )
    .await?
    .id;
    write_ad(
        db,
        owner,
        review,
        ad(
            "Grinder",
            "Our new burr grinder: 40 settings, quiet, and built to last a decade. Launch price this week only.",
            "See the grinder",
            "https://acme.coffee/grinder",
        ),
    )
    .await?;
    write::submit(db, owner, review).await?;
    review_all(
        db,
        moderator,
        DecisionInput {
            approve: false,
            reasons: vec!["misleading".into()],
            field: "text".into(),
            note: "“Launch price this week only” needs the regular price and the end date next \
                   to it."
                .into(),
        },
    )
    .await?;
    // An edit of the approved ad, waiting for review while version 1 keeps serving.
    ads::save(
        db,
        owner,
        live,
        Some(first),
        ad(
            "Club launch",
            "Fresh beans roasted every Monday, at your door by Wednesday. Join the club and pause any time.",
            "Join the club",
            "https://acme.coffee/club",
        ),
    )
    .await?;
    ads::submit(db, owner, first).await?;

    let draft = write::save(
        db,
        &index,
        owner,
        None,
        campaign(
            "Spring tasting tour",
            &["travel", "food"],
            "1.00",
            "120",
            "10",
        ),
    )
    .await?
    .id;
    write_ad(
        db,
        owner,
        draft,
        ad(
            "Tour dates",
            "Taste six single-origin coffees with our roasters in 12 cities this spring. Seats are limited.",
            "Book a seat",
            "https://acme.coffee/tour",
        ),
    )
    .await?;
    Ok(())
}
