//! Platform settings: typed reads of the `platform_setting` table, and the catalog version
//! every catalog write bumps so that each instance knows to rebuild its forecast index; admins
//! change the eligibility threshold and the slot model here, and publish the bank details
//! advertisers pay to.

use crate::{
    entity::{app_user, platform_setting, platform_text},
    error::{AppError, FieldErrors},
    model::{
        ACCOUNT_CURRENCIES, AuditAction, BANK_DETAILS_LINES, BANK_DETAILS_MAX, BankDetailsChange,
        BankDetailsInput, CatalogSettingsInput, DEFAULT_CURRENCY, Micros, MoneyLimits,
        PlatformRole, PublishedBankDetails, is_invisible, is_other_space, parse_count,
    },
    service::{
        Actor,
        audit::{self, AuditEntry},
        passwords::PasswordHasher,
        sessions,
    },
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use validator::Validate;

const MIN_SUBSCRIBERS: &str = "eligibility_min_subscribers";
const SLOTS_PER_DAY: &str = "ad_slots_per_day";
const CATALOG_VERSION: &str = "catalog_version";
const MIN_CPM: &str = "min_cpm_micros";
const MIN_TOTAL_BUDGET: &str = "min_total_budget_micros";
const PUBLISHER_SHARE: &str = "publisher_share_bp";
const HOLD_TTL: &str = "hold_ttl_minutes";
const DELIVERY_VERSION: &str = "delivery_version";
const REPORT_MIN_VIEWS: &str = "report_min_channel_views";
const FINANCE_APPROVAL: &str = "finance_approval_units";

/// The settings the catalog and the forecast depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformSettings {
    /// Channels below this many subscribers are not eligible for ads.
    pub min_subscribers: i64,
    /// At most this many sponsored messages per channel per day.
    pub slots_per_day: i64,
    /// Moves on every catalog write.
    pub catalog_version: i64,
    /// The smallest CPM bid and total budget a campaign may have.
    pub money: MoneyLimits,
    /// The publisher's share of each posted charge, in basis points (5,000 = 50 %).
    pub publisher_share_bp: i64,
    /// How long a won slot's hold stays open before its unused rest is released.
    pub hold_ttl_minutes: i64,
    /// Moves on every change to what delivery serves (campaigns, ads, accounts, settings).
    pub delivery_version: i64,
    /// Reports fold channels with fewer views in a period into "Other channels".
    pub report_min_channel_views: i64,
}

/// The minimum CPM as a scalar subquery, for statements that read it beside other figures;
/// [`min_cpm_of`] decodes the column it is selected as.
pub(crate) fn min_cpm_subquery(sql: &mut crate::service::sql::Sql) -> String {
    format!(
        "(SELECT p.value FROM platform_setting p WHERE p.key = {})",
        sql.bind(MIN_CPM)
    )
}

/// The minimum CPM a [`min_cpm_subquery`] read into `column` of `row`.
pub(crate) fn min_cpm_of(row: &sea_orm::QueryResult, column: &str) -> Result<Micros, AppError> {
    row.try_get::<Option<i64>>("", column)?
        .map(Micros)
        .ok_or_else(|| AppError::internal("settings", format!("setting {MIN_CPM} is missing")))
}

/// Reads every setting (one query).
pub async fn load(db: &impl ConnectionTrait) -> Result<PlatformSettings, AppError> {
    let rows = platform_setting::Entity::find().all(db).await?;
    let value = |key: &str| {
        rows.iter()
            .find(|r| r.key == key)
            .map(|r| r.value)
            .ok_or_else(|| AppError::internal("settings", format!("setting {key} is missing")))
    };
    Ok(PlatformSettings {
        min_subscribers: value(MIN_SUBSCRIBERS)?,
        slots_per_day: value(SLOTS_PER_DAY)?,
        catalog_version: value(CATALOG_VERSION)?,
        money: MoneyLimits {
            min_cpm: Micros(value(MIN_CPM)?),
            min_total_budget: Micros(value(MIN_TOTAL_BUDGET)?),
        },
        publisher_share_bp: value(PUBLISHER_SHARE)?,
        hold_ttl_minutes: value(HOLD_TTL)?,
        delivery_version: value(DELIVERY_VERSION)?,
        report_min_channel_views: value(REPORT_MIN_VIEWS)?,
    })
}

/// The privacy threshold of reports (a primary-key lookup).
pub async fn report_min_channel_views(db: &impl ConnectionTrait) -> Result<i64, AppError> {
    platform_setting::Entity::find_by_id(REPORT_MIN_VIEWS.to_owned())
        .one(db)
        .await?
        .map(|r| r.value)
        .ok_or_else(|| AppError::internal("settings", "report_min_channel_views is missing"))
}

/// Top-ups and refunds above this many units of the account's currency need a second finance
/// user's approval (a primary-key lookup).
pub async fn finance_approval_units(db: &impl ConnectionTrait) -> Result<i64, AppError> {
    platform_setting::Entity::find_by_id(FINANCE_APPROVAL.to_owned())
        .one(db)
        .await?
        .map(|r| r.value)
        .ok_or_else(|| AppError::internal("settings", "finance_approval_units is missing"))
}

/// The catalog and delivery versions (one small query, cheap enough to ask per decision).
pub async fn versions(db: &impl ConnectionTrait) -> Result<(i64, i64), AppError> {
    let rows = platform_setting::Entity::find()
        .filter(platform_setting::Column::Key.is_in([CATALOG_VERSION, DELIVERY_VERSION]))
        .all(db)
        .await?;
    let value = |key: &str| rows.iter().find(|r| r.key == key).map_or(0, |r| r.value);
    Ok((value(CATALOG_VERSION), value(DELIVERY_VERSION)))
}

/// The current catalog version (a primary-key lookup, cheap enough to poll).
pub async fn catalog_version(db: &impl ConnectionTrait) -> Result<i64, AppError> {
    platform_setting::Entity::find_by_id(CATALOG_VERSION.to_owned())
        .one(db)
        .await?
        .map(|r| r.value)
        .ok_or_else(|| AppError::internal("settings", "catalog_version is missing"))
}

/// Marks the catalog as changed; call it inside the transaction that changes it.
pub async fn bump_catalog_version(db: &impl ConnectionTrait) -> Result<(), AppError> {
    platform_setting::Entity::update_many()
        .col_expr(
            platform_setting::Column::Value,
            Expr::col(platform_setting::Column::Value).add(1),
        )
        .col_expr(
            platform_setting::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(platform_setting::Column::Key.eq(CATALOG_VERSION))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the catalog as changed only if its version is still `expected`: for a writer that read
/// the catalog outside its transaction. Returns whether it moved; call it inside the
/// transaction that changes the catalog and roll back when it did not.
pub async fn bump_catalog_version_from(
    db: &impl ConnectionTrait,
    expected: i64,
) -> Result<bool, AppError> {
    let moved = platform_setting::Entity::update_many()
        .col_expr(platform_setting::Column::Value, Expr::value(expected + 1))
        .col_expr(
            platform_setting::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(platform_setting::Column::Key.eq(CATALOG_VERSION))
        .filter(platform_setting::Column::Value.eq(expected))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// The catalog settings as the admin form shows them.
pub async fn catalog_input(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<CatalogSettingsInput, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let current = load(db).await?;
    Ok(CatalogSettingsInput {
        min_subscribers: current.min_subscribers.to_string(),
        slots_per_day: current.slots_per_day.to_string(),
        min_cpm: current.money.min_cpm.to_decimal(),
        min_total_budget: current.money.min_total_budget.to_decimal(),
        publisher_share: percent(current.publisher_share_bp),
        hold_hours: (current.hold_ttl_minutes / 60).to_string(),
        report_min_views: current.report_min_channel_views.to_string(),
        approval_units: finance_approval_units(db).await?.to_string(),
        currency: account_currency(db).await?,
    })
}

/// The `platform_text` key of the currency new ad accounts are opened in.
const ACCOUNT_CURRENCY: &str = "account_currency";

/// The currency new ad accounts are opened in: the admin's choice, else
/// [`DEFAULT_CURRENCY`](crate::model::DEFAULT_CURRENCY) (a primary-key lookup).
pub async fn account_currency(db: &impl ConnectionTrait) -> Result<String, AppError> {
    let chosen = platform_text::Entity::find_by_id(ACCOUNT_CURRENCY.to_owned())
        .one(db)
        .await?
        .map(|row| row.value)
        .filter(|code| ACCOUNT_CURRENCIES.iter().any(|(c, _)| c == code));
    Ok(chosen.unwrap_or_else(|| DEFAULT_CURRENCY.to_owned()))
}

/// Basis points as a percentage for the form: 5000 → "50", 3333 → "33.33".
fn percent(bp: i64) -> String {
    if bp % 100 == 0 {
        (bp / 100).to_string()
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
            .trim_end_matches('0')
            .to_owned()
    }
}

/// A percentage with at most two decimals ("50", "33.33") as basis points, 0..=100 %.
fn parse_percent(text: &str) -> Option<i64> {
    let micros = Micros::parse(text).ok()?;
    // Micros::parse reads six decimals: a whole percent is 1,000,000; a basis point 10,000.
    (micros.0 % 10_000 == 0 && micros.0 <= 100_000_000).then_some(micros.0 / 10_000)
}

/// Longest hold an admin may set, in hours (a week).
pub const MAX_HOLD_HOURS: i64 = 168;

/// The largest minimum CPM or minimum budget an admin may set, in currency units.
pub const MAX_MONEY_LIMIT_UNITS: i64 = 1_000_000;

/// Largest privacy threshold of reports an admin may set, in views.
pub const MAX_REPORT_MIN_VIEWS: i64 = 1_000_000;

/// Most ad slots per channel per day an admin may set.
pub const MAX_SLOTS_PER_DAY: i64 = 24;

/// Changes the eligibility threshold, the slot model, the campaign money limits, the hold
/// expiry, the reports' privacy threshold and finance's approval threshold (admins only; the
/// approval threshold not by an admin who is also in finance). One transaction: the changed
/// settings, a new catalog version when the catalog's settings moved (every instance rebuilds
/// its forecast index), and an audit event with before and after. An empty field other than
/// the first two keeps its value.
pub async fn update_catalog<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    input: CatalogSettingsInput,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    input.validate()?;
    let mut errors = FieldErrors::default();
    let min_subscribers = match parse_count(&input.min_subscribers) {
        Ok(n) if n <= 1_000_000_000 => n,
        Ok(_) => {
            errors.add("min_subscribers", "At most 1,000,000,000.");
            0
        }
        Err(reason) => {
            errors.add("min_subscribers", format!("Subscribers: {reason}"));
            0
        }
    };
    let slots_per_day = match parse_count(&input.slots_per_day) {
        Ok(n) if (1..=MAX_SLOTS_PER_DAY).contains(&n) => n,
        _ => {
            errors.add(
                "slots_per_day",
                format!("A whole number from 1 to {MAX_SLOTS_PER_DAY}."),
            );
            0
        }
    };
    // An empty money field keeps the stored value (resolved inside the transaction).
    let mut money = |field: &str, text: &str| -> Option<Micros> {
        if text.trim().is_empty() {
            return None;
        }
        match Micros::parse(text) {
            Ok(amount) if amount.0 > 0 && amount <= Micros::units(MAX_MONEY_LIMIT_UNITS) => {
                Some(amount)
            }
            Ok(_) => {
                errors.add(
                    field,
                    format!("More than zero and at most {MAX_MONEY_LIMIT_UNITS}."),
                );
                None
            }
            Err(e) => {
                errors.add(field, e.to_string());
                None
            }
        }
    };
    let min_cpm = money("min_cpm", &input.min_cpm);
    let min_total_budget = money("min_total_budget", &input.min_total_budget);
    let publisher_share = if input.publisher_share.trim().is_empty() {
        None
    } else {
        let parsed = parse_percent(&input.publisher_share);
        if parsed.is_none() {
            errors.add(
                "publisher_share",
                "A percentage from 0 to 100, with at most two decimals.",
            );
        }
        parsed
    };
    let hold_minutes = if input.hold_hours.trim().is_empty() {
        None
    } else {
        match parse_count(&input.hold_hours) {
            Ok(h) if (1..=MAX_HOLD_HOURS).contains(&h) => Some(h * 60),
            _ => {
                errors.add(
                    "hold_hours",
                    format!("A whole number of hours from 1 to {MAX_HOLD_HOURS}."),
                );
                None
            }
        }
    };
    let report_min_views = if input.report_min_views.trim().is_empty() {
        None
    } else {
        match parse_count(&input.report_min_views) {
            Ok(n) if n <= MAX_REPORT_MIN_VIEWS => Some(n),
            _ => {
                errors.add(
                    "report_min_views",
                    format!("A whole number of views from 0 to {MAX_REPORT_MIN_VIEWS}."),
                );
                None
            }
        }
    };
    let approval_units = if input.approval_units.trim().is_empty() {
        None
    } else {
        match parse_count(&input.approval_units) {
            Ok(n) if (1..=MAX_MONEY_LIMIT_UNITS).contains(&n) => Some(n),
            _ => {
                errors.add(
                    "approval_units",
                    format!("A whole number from 1 to {MAX_MONEY_LIMIT_UNITS}."),
                );
                None
            }
        }
    };
    let currency = input.currency.trim().to_uppercase();
    if !currency.is_empty() && !ACCOUNT_CURRENCIES.iter().any(|(c, _)| *c == currency) {
        errors.add(
            "currency",
            format!("One of {}.", ACCOUNT_CURRENCIES.map(|(c, _)| c).join(", ")),
        );
    }
    errors.into_result()?;
    let txn = db.begin().await?;
    let before = load(&txn).await?;
    let currency_before = account_currency(&txn).await?;
    let currency = if currency.is_empty() {
        currency_before.clone()
    } else {
        currency
    };
    let approval_before = finance_approval_units(&txn).await?;
    let approval_units = approval_units.unwrap_or(approval_before);
    // The threshold is what keeps one finance person from moving a large sum alone: an admin
    // who is also in finance does not move it.
    if approval_units != approval_before && actor.staff_roles.contains(&PlatformRole::Finance) {
        return Err(AppError::field(
            "approval_units",
            "You are also in finance: another admin changes this threshold.",
        ));
    }
    let min_cpm = min_cpm.unwrap_or(before.money.min_cpm);
    let min_total_budget = min_total_budget.unwrap_or(before.money.min_total_budget);
    let publisher_share = publisher_share.unwrap_or(before.publisher_share_bp);
    let hold_minutes = hold_minutes.unwrap_or(before.hold_ttl_minutes);
    let report_min_views = report_min_views.unwrap_or(before.report_min_channel_views);
    let mut changed = false;
    let mut catalog_changed = false;
    for (key, old, new, catalog) in [
        (
            MIN_SUBSCRIBERS,
            before.min_subscribers,
            min_subscribers,
            true,
        ),
        (SLOTS_PER_DAY, before.slots_per_day, slots_per_day, true),
        (MIN_CPM, before.money.min_cpm.0, min_cpm.0, false),
        (
            MIN_TOTAL_BUDGET,
            before.money.min_total_budget.0,
            min_total_budget.0,
            false,
        ),
        (
            PUBLISHER_SHARE,
            before.publisher_share_bp,
            publisher_share,
            false,
        ),
        (HOLD_TTL, before.hold_ttl_minutes, hold_minutes, false),
        (
            REPORT_MIN_VIEWS,
            before.report_min_channel_views,
            report_min_views,
            false,
        ),
        (FINANCE_APPROVAL, approval_before, approval_units, false),
    ] {
        if old != new {
            changed = true;
            catalog_changed |= catalog;
            platform_setting::Entity::update_many()
                .col_expr(platform_setting::Column::Value, Expr::value(new))
                .col_expr(
                    platform_setting::Column::UpdatedAt,
                    Expr::value(chrono::Utc::now()),
                )
                .col_expr(
                    platform_setting::Column::UpdatedBy,
                    Expr::value(actor.user_id.0),
                )
                .filter(platform_setting::Column::Key.eq(key))
                .exec(&txn)
                .await?;
        }
    }
    if currency != currency_before {
        changed = true;
        // The row is made the first time an admin chooses: an upsert, on either database.
        platform_text::Entity::insert(platform_text::ActiveModel {
            key: Set(ACCOUNT_CURRENCY.to_owned()),
            value: Set(currency.clone()),
            updated_at: Set(chrono::Utc::now()),
            updated_by: Set(Some(actor.user_id.0)),
        })
        .on_conflict(
            OnConflict::column(platform_text::Column::Key)
                .update_columns([
                    platform_text::Column::Value,
                    platform_text::Column::UpdatedAt,
                    platform_text::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    }
    if catalog_changed {
        bump_catalog_version(&txn).await?;
    }
    if changed {
        audit::record(
            &txn,
            AuditEntry::new(AuditAction::SettingsUpdated, "platform_setting", "catalog")
                .by(actor.user_id)
                .from_ip(actor.ip.clone())
                .detail(serde_json::json!({
                    "before": {
                        MIN_SUBSCRIBERS: before.min_subscribers,
                        SLOTS_PER_DAY: before.slots_per_day,
                        MIN_CPM: before.money.min_cpm.0,
                        MIN_TOTAL_BUDGET: before.money.min_total_budget.0,
                        PUBLISHER_SHARE: before.publisher_share_bp,
                        HOLD_TTL: before.hold_ttl_minutes,
                        REPORT_MIN_VIEWS: before.report_min_channel_views,
                        FINANCE_APPROVAL: approval_before,
                        ACCOUNT_CURRENCY: currency_before,
                    },
                    "after": {
                        MIN_SUBSCRIBERS: min_subscribers,
                        SLOTS_PER_DAY: slots_per_day,
                        MIN_CPM: min_cpm.0,
                        MIN_TOTAL_BUDGET: min_total_budget.0,
                        PUBLISHER_SHARE: publisher_share,
                        HOLD_TTL: hold_minutes,
                        REPORT_MIN_VIEWS: report_min_views,
                        FINANCE_APPROVAL: approval_units,
                        ACCOUNT_CURRENCY: currency,
                    },
                })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

const BANK_DETAILS: &str = "bank_details";

/// The bank details advertisers pay to, when an admin has published them (a primary-key
/// lookup; the row is always there, empty until published).
pub async fn bank_details(db: &impl ConnectionTrait) -> Result<Option<String>, AppError> {
    Ok(platform_text::Entity::find_by_id(BANK_DETAILS.to_owned())
        .one(db)
        .await?
        .map(|r| r.value)
        .filter(|text| !text.is_empty()))
}

/// The bank details as the admin settings page shows them, with their last change (admins).
pub async fn bank_details_settings(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<PublishedBankDetails, AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    let Some(row) = platform_text::Entity::find_by_id(BANK_DETAILS.to_owned())
        .one(db)
        .await?
    else {
        return Ok(PublishedBankDetails::default());
    };
    let last_change = bank_details_change(db, &row).await?;
    Ok(PublishedBankDetails {
        input: BankDetailsInput {
            bank_details: row.value,
        },
        last_change,
    })
}

/// When the bank details last changed and by whom, if anyone has changed them since they were
/// set up (the migration stamps the row without a user).
async fn bank_details_change(
    db: &impl ConnectionTrait,
    row: &platform_text::Model,
) -> Result<Option<BankDetailsChange>, AppError> {
    let Some(user) = row.updated_by else {
        return Ok(None);
    };
    let by = app_user::Entity::find_by_id(user)
        .one(db)
        .await?
        .map(|u| u.email);
    Ok(Some(BankDetailsChange {
        at: row.updated_at,
        by,
    }))
}

/// The bank details' last change, with the text it left, when it was made after `since`
/// (finance's dashboard points out a recent one: changed bank details send every advertiser's
/// money somewhere else).
pub async fn bank_details_changed_since(
    db: &impl ConnectionTrait,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(BankDetailsChange, String)>, AppError> {
    let Some(row) = platform_text::Entity::find_by_id(BANK_DETAILS.to_owned())
        .filter(platform_text::Column::UpdatedAt.gte(since))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(bank_details_change(db, &row)
        .await?
        .map(|change| (change, row.value)))
}

/// Bank details as they are kept: other spaces (no-break, thin …) made plain ones, each line's
/// trailing spaces and the blank lines around them trimmed, line breaks as `\n`; refused with a
/// message when longer than [`BANK_DETAILS_MAX`] characters so kept (a browser sends each line
/// break as two), of more than [`BANK_DETAILS_LINES`] lines, or holding a control or invisible
/// character ([`is_invisible`]).
fn normalise_bank_details(text: &str) -> Result<String, String> {
    let text: String = text
        .chars()
        .map(|c| if is_other_space(c) { ' ' } else { c })
        .collect();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let text = lines.join("\n").trim_matches('\n').to_owned();
    if text
        .chars()
        .any(|c| (c.is_control() && c != '\n') || is_invisible(c))
    {
        return Err(
            "Use letters, digits, punctuation, spaces and line breaks only (no tabs or invisible characters)."
                .to_owned(),
        );
    }
    if text.chars().count() > BANK_DETAILS_MAX {
        return Err(format!("At most {BANK_DETAILS_MAX} characters."));
    }
    if text.lines().count() > BANK_DETAILS_LINES {
        return Err(format!("At most {BANK_DETAILS_LINES} lines."));
    }
    Ok(text)
}

/// Publishes the bank details advertisers pay to, or withdraws them when empty (admins, who
/// type their password again: new bank details send every advertiser's money somewhere else,
/// which a stolen session must not do alone). See [`publish_bank_details`].
pub async fn update_bank_details<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    hasher: &PasswordHasher,
    actor: &Actor,
    input: BankDetailsInput,
    password: String,
) -> Result<(), AppError> {
    actor.require_staff(db, PlatformRole::Admin).await?;
    input.validate()?;
    let text = normalise_bank_details(&input.bank_details)
        .map_err(|message| AppError::field("bank_details", message))?;
    sessions::confirm_password(db, hasher, actor, password, "password").await?;
    publish_bank_details(db, actor, text).await
}

/// Publishes `text` (already checked) as the bank details, by `actor` — an admin who has
/// confirmed their password, or the demo seed. One transaction: the row locked first (so two
/// admins saving at once are recorded one after the other), the text, and an audit event with
/// before and after.
pub(crate) async fn publish_bank_details<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    text: String,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    // A write first: PostgreSQL locks the row, SQLite makes this the one writing transaction.
    let locked = platform_text::Entity::update_many()
        .col_expr(
            platform_text::Column::UpdatedAt,
            Expr::col(platform_text::Column::UpdatedAt),
        )
        .filter(platform_text::Column::Key.eq(BANK_DETAILS))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        // The migration makes the row; without it the change would be recorded but not kept.
        return Err(AppError::internal(
            "bank details",
            "the platform_text row `bank_details` is missing: run the migrations",
        ));
    }
    let before = bank_details(&txn).await?;
    if before.as_deref().unwrap_or_default() == text {
        // Nothing changes: the transaction rolls back, nothing is recorded.
        return Ok(());
    }
    platform_text::Entity::update_many()
        .col_expr(platform_text::Column::Value, Expr::value(text.clone()))
        .col_expr(
            platform_text::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .col_expr(
            platform_text::Column::UpdatedBy,
            Expr::value(actor.user_id.0),
        )
        .filter(platform_text::Column::Key.eq(BANK_DETAILS))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditEntry::new(AuditAction::SettingsUpdated, "platform_text", BANK_DETAILS)
            .by(actor.user_id)
            .from_ip(actor.ip.clone())
            .detail(serde_json::json!({
                "before": before,
                "after": (!text.is_empty()).then_some(&text),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
