//! Moderation: the published policy reasons, the review queue (ad versions and targeting
//! changes, with 15-minute claims), moderators' decisions with their reasons, appeals, and the
//! in-app notifications that tell advertisers about them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PolicyReason {
    Table,
    Id,
    Code,
    Title,
    Guideline,
    Position,
    Active,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReviewTask {
    Table,
    Id,
    Kind,
    AccountId,
    CampaignId,
    AdVersionId,
    Targeting,
    Languages,
    SubmittedAt,
    State,
    AppealId,
    ExcludedModerator,
    ClaimedBy,
    ClaimedUntil,
    ClosedAt,
}

#[derive(DeriveIden)]
enum ReviewDecision {
    Table,
    Id,
    TaskId,
    AccountId,
    CampaignId,
    AdVersionId,
    Targeting,
    ModeratorId,
    Outcome,
    Field,
    Note,
    IsAppeal,
    SubmittedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum ReviewDecisionReason {
    Table,
    DecisionId,
    PolicyReasonId,
}

#[derive(DeriveIden)]
enum Appeal {
    Table,
    Id,
    DecisionId,
    AccountId,
    Message,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notification {
    Table,
    Id,
    UserId,
    AccountId,
    Kind,
    Title,
    Body,
    Link,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum AdAccount {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Campaign {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AdVersion {
    Table,
    Id,
}

/// The guideline set a fresh installation starts with: (code, title, guideline). Admins edit
/// titles and texts later; codes are permanent because decisions refer to them.
const REASONS: &[(&str, &str, &str)] = &[
    (
        "misleading",
        "Misleading claims",
        "Ads must not promise what the advertiser cannot deliver: guaranteed returns, miracle \
         results, fake scarcity (\"only 2 left\" when it is not true), invented endorsements or \
         prices that differ from the destination. State facts the reader can verify.",
    ),
    (
        "prohibited",
        "Prohibited products and services",
        "Not allowed: weapons and explosives, illegal or recreational drugs, counterfeit goods, \
         hacking tools and stolen data, gambling without a licence in the targeted countries, \
         unregulated financial products (pyramid and \"double your crypto\" schemes), tobacco \
         and vaping, prescription medicines.",
    ),
    (
        "adult",
        "Adult content",
        "No sexual content, nudity, escort or dating services aimed at sexual encounters, or \
         suggestive wording, in the text, the button or the destination.",
    ),
    (
        "hate",
        "Hate and harassment",
        "No attacks on people for who they are — ethnicity, religion, nationality, gender, \
         sexual orientation, disability or age — and no content that threatens, bullies or \
         degrades anyone.",
    ),
    (
        "profanity",
        "Profanity",
        "No swearing or vulgar words, including thinly disguised ones (\"f*ck\", letters \
         replaced by symbols).",
    ),
    (
        "capitals-emoji",
        "Excessive capitals or emoji",
        "Write in sentence case: words in ALL CAPS (other than well-known abbreviations such as \
         EU or USB) and more than three emoji make a message shout. Emoji must not replace \
         words.",
    ),
    (
        "line-breaks",
        "Line breaks and formatting",
        "A sponsored message is a single line of at most 160 characters. No line breaks, no \
         invisible characters, no formatting tricks that make the message look like a channel \
         post.",
    ),
    (
        "destination",
        "Broken or mismatched destination",
        "The destination must open, work without sign-in walls, and show what the ad promises: \
         the product, offer or channel named in the text. The in-text link, if any, must lead \
         to the same destination.",
    ),
    (
        "shortener",
        "URL shorteners and redirects",
        "Link directly to the destination. Shorteners, redirect chains, IP-address links and \
         cloaking hide where a reader is sent and are not allowed.",
    ),
    (
        "language",
        "Language mismatch",
        "The ad must be written in the language of the channels it targets, so that their \
         readers understand it. An ad in German that targets only Spanish-language channels is \
         declined.",
    ),
    (
        "impersonation",
        "Impersonation",
        "Do not pretend to be another person, brand, channel or Herald itself, and do not use \
         their names, logos or wording to suggest an endorsement you do not have.",
    ),
    (
        "political",
        "Political content",
        "Ads about elections, political parties, candidates, referendums or legislation are not \
         accepted, nor ads that take sides on contested social issues.",
    ),
    (
        "targeting",
        "Unsuitable targeting",
        "The targeted topics and channels must fit the product: an ad must not be aimed at \
         channels whose readers are unlikely to be its lawful audience (for example a \
         financial product aimed at children's education channels).",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PolicyReason::Table)
                    .col(big_pk_auto(PolicyReason::Id))
                    .col(string_len_uniq(PolicyReason::Code, 40))
                    .col(string_len(PolicyReason::Title, 120))
                    .col(text(PolicyReason::Guideline))
                    .col(integer(PolicyReason::Position))
                    .col(boolean(PolicyReason::Active))
                    .col(timestamp_with_time_zone(PolicyReason::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert()
            .into_table(PolicyReason::Table)
            .columns([
                PolicyReason::Code,
                PolicyReason::Title,
                PolicyReason::Guideline,
                PolicyReason::Position,
                PolicyReason::Active,
                PolicyReason::UpdatedAt,
            ])
            .to_owned();
        for (position, (code, title, guideline)) in REASONS.iter().enumerate() {
            insert.values_panic([
                (*code).into(),
                (*title).into(),
                (*guideline).into(),
                (position as i32 + 1).into(),
                true.into(),
                Expr::current_timestamp(),
            ]);
        }
        manager.exec_stmt(insert).await?;

        manager
            .create_table(
                Table::create()
                    .table(ReviewTask::Table)
                    .col(big_pk_auto(ReviewTask::Id))
                    .col(string_len(ReviewTask::Kind, 16))
                    .col(big_integer(ReviewTask::AccountId))
                    .col(big_integer(ReviewTask::CampaignId))
                    .col(big_integer_null(ReviewTask::AdVersionId))
                    .col(text_null(ReviewTask::Targeting))
                    .col(text(ReviewTask::Languages))
                    .col(timestamp_with_time_zone(ReviewTask::SubmittedAt))
                    .col(string_len(ReviewTask::State, 16))
                    .col(big_integer_null(ReviewTask::AppealId))
                    .col(big_integer_null(ReviewTask::ExcludedModerator))
                    .col(big_integer_null(ReviewTask::ClaimedBy))
                    .col(timestamp_with_time_zone_null(ReviewTask::ClaimedUntil))
                    .col(timestamp_with_time_zone_null(ReviewTask::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewTask::Table, ReviewTask::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewTask::Table, ReviewTask::CampaignId)
                            .to(Campaign::Table, Campaign::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewTask::Table, ReviewTask::AdVersionId)
                            .to(AdVersion::Table, AdVersion::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewTask::Table, ReviewTask::ClaimedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // The queue: open tasks, oldest first.
            (
                "idx_review_task_state_submitted",
                vec![ReviewTask::State, ReviewTask::SubmittedAt],
            ),
            (
                "idx_review_task_version",
                vec![ReviewTask::AdVersionId, ReviewTask::State],
            ),
            (
                "idx_review_task_campaign",
                vec![ReviewTask::CampaignId, ReviewTask::State],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(ReviewTask::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        // What was already waiting enters the queue: versions in review (with the campaign's
        // targeting) and live campaigns' targeting changes. Languages are filled in when the
        // item is next sent; until then it shows under every language.
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO review_task (kind, account_id, campaign_id, ad_version_id, targeting, \
             languages, submitted_at, state) \
             SELECT 'ad_version', a.account_id, a.campaign_id, v.id, c.targeting, '', \
             COALESCE(v.submitted_at, v.created_at), 'open' \
             FROM ad_version v JOIN ad a ON a.id = v.ad_id JOIN campaign c ON c.id = a.campaign_id \
             WHERE v.status = 'in_review'",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO review_task (kind, account_id, campaign_id, targeting, languages, \
             submitted_at, state) \
             SELECT 'targeting', account_id, id, pending_targeting, '', \
             COALESCE(pending_since, updated_at), 'open' \
             FROM campaign WHERE pending_targeting IS NOT NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReviewDecision::Table)
                    .col(big_pk_auto(ReviewDecision::Id))
                    .col(big_integer_uniq(ReviewDecision::TaskId))
                    .col(big_integer(ReviewDecision::AccountId))
                    .col(big_integer(ReviewDecision::CampaignId))
                    .col(big_integer_null(ReviewDecision::AdVersionId))
                    .col(text_null(ReviewDecision::Targeting))
                    .col(big_integer(ReviewDecision::ModeratorId))
                    .col(string_len(ReviewDecision::Outcome, 16))
                    .col(string_len_null(ReviewDecision::Field, 24))
                    .col(text(ReviewDecision::Note))
                    .col(boolean(ReviewDecision::IsAppeal))
                    .col(timestamp_with_time_zone(ReviewDecision::SubmittedAt))
                    .col(timestamp_with_time_zone(ReviewDecision::DecidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewDecision::Table, ReviewDecision::TaskId)
                            .to(ReviewTask::Table, ReviewTask::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewDecision::Table, ReviewDecision::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewDecision::Table, ReviewDecision::ModeratorId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // Review-time figures read the last seven days of decisions.
            (
                "idx_review_decision_decided",
                vec![ReviewDecision::DecidedAt],
            ),
            (
                "idx_review_decision_account",
                vec![ReviewDecision::AccountId, ReviewDecision::DecidedAt],
            ),
            (
                "idx_review_decision_version",
                vec![ReviewDecision::AdVersionId],
            ),
            (
                "idx_review_decision_campaign",
                vec![ReviewDecision::CampaignId, ReviewDecision::DecidedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(ReviewDecision::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ReviewDecisionReason::Table)
                    .col(big_integer(ReviewDecisionReason::DecisionId))
                    .col(big_integer(ReviewDecisionReason::PolicyReasonId))
                    .primary_key(
                        Index::create()
                            .col(ReviewDecisionReason::DecisionId)
                            .col(ReviewDecisionReason::PolicyReasonId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ReviewDecisionReason::Table,
                                ReviewDecisionReason::DecisionId,
                            )
                            .to(ReviewDecision::Table, ReviewDecision::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ReviewDecisionReason::Table,
                                ReviewDecisionReason::PolicyReasonId,
                            )
                            .to(PolicyReason::Table, PolicyReason::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Appeal::Table)
                    .col(big_pk_auto(Appeal::Id))
                    // A decline is appealed at most once.
                    .col(big_integer_uniq(Appeal::DecisionId))
                    .col(big_integer(Appeal::AccountId))
                    .col(text(Appeal::Message))
                    .col(big_integer(Appeal::CreatedBy))
                    .col(timestamp_with_time_zone(Appeal::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::DecisionId)
                            .to(ReviewDecision::Table, ReviewDecision::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notification::Table)
                    .col(big_pk_auto(Notification::Id))
                    .col(big_integer(Notification::UserId))
                    .col(big_integer(Notification::AccountId))
                    .col(string_len(Notification::Kind, 32))
                    .col(string_len(Notification::Title, 200))
                    .col(text(Notification::Body))
                    .col(string_len(Notification::Link, 300))
                    .col(timestamp_with_time_zone(Notification::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notification::ReadAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::AccountId)
                            .to(AdAccount::Table, AdAccount::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notification_user_account")
                    .table(Notification::Table)
                    .col(Notification::UserId)
                    .col(Notification::AccountId)
                    .col(Notification::ReadAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notification::Table.into_iden(),
            Appeal::Table.into_iden(),
            ReviewDecisionReason::Table.into_iden(),
            ReviewDecision::Table.into_iden(),
            ReviewTask::Table.into_iden(),
            PolicyReason::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
