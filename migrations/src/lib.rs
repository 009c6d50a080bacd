//! Herald's schema history: each migration is frozen once it has shipped; changes are new files.

pub use sea_orm_migration::prelude::*;

pub mod db;
mod m20261125_000001_foundation;
mod m20261126_000002_catalog;
mod m20261127_000003_campaigns;
mod m20261127_000004_invitations;
mod m20261128_000005_moderation;
mod m20261129_000006_hardening;
mod m20261129_000007_outbox;
mod m20261129_000008_catalog_import_staging;
mod m20261201_000009_ledger_delivery;
mod m20261202_000010_reports;
mod m20261203_000011_finance_requests;
mod m20261204_000012_finance_console;
mod m20261205_000013_rollup_clustered;
mod m20261206_000014_rollup_day;
mod m20261207_000015_event_day;
mod m20261208_000016_correction_requests;
mod m20261209_000017_bank_details;
mod m20261210_000018_reference_keys;
mod m20261211_000019_refund_sources;
mod m20261212_000020_payout_requests;
mod m20261213_000021_reference_lookup;

/// How migration 18 keyed old credits' and requests' references (frozen; the application's
/// living rule must agree with it).
pub use m20261210_000018_reference_keys::reference_key as frozen_reference_key;

/// Runs every migration in order (`Migrator::up(&db, None)`), each in one transaction.
pub struct Migrator;

/// A migration run in one transaction with its record in `seaql_migrations`, on SQLite as on
/// PostgreSQL (sea-orm's default is PostgreSQL only). SQLite's schema changes are
/// transactional, so a migration stopped half-way — the process killed during its first start
/// or an upgrade — leaves no half-made schema that the next start would fail to migrate again
/// ("table already exists").
struct InOneTransaction(Box<dyn MigrationTrait>);

impl MigrationName for InOneTransaction {
    fn name(&self) -> &str {
        self.0.name()
    }
}

#[async_trait::async_trait]
impl MigrationTrait for InOneTransaction {
    /// Unless the migration itself asks for none.
    fn use_transaction(&self) -> Option<bool> {
        self.0.use_transaction().or(Some(true))
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.0.up(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.0.down(manager).await
    }
}

impl Migrator {
    /// Undoes the migration named `name` and every one after it, leaving the database as it
    /// was before `name` (tests of what a migration does to rows written before it; the count
    /// of steps would change with every later migration).
    pub async fn down_through(
        db: &sea_orm_migration::sea_orm::DatabaseConnection,
        name: &str,
    ) -> Result<(), DbErr> {
        let all = Self::migrations();
        let at = all
            .iter()
            .position(|m| m.name() == name)
            .ok_or_else(|| DbErr::Custom(format!("no migration named {name}")))?;
        Self::down(db, Some((all.len() - at) as u32)).await
    }
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let all: Vec<Box<dyn MigrationTrait>> = vec![
            Box::new(m20261125_000001_foundation::Migration),
            Box::new(m20261126_000002_catalog::Migration),
            Box::new(m20261127_000003_campaigns::Migration),
            Box::new(m20261127_000004_invitations::Migration),
            Box::new(m20261128_000005_moderation::Migration),
            Box::new(m20261129_000006_hardening::Migration),
            Box::new(m20261129_000007_outbox::Migration),
            Box::new(m20261129_000008_catalog_import_staging::Migration),
            Box::new(m20261201_000009_ledger_delivery::Migration),
            Box::new(m20261202_000010_reports::Migration),
            Box::new(m20261203_000011_finance_requests::Migration),
            Box::new(m20261204_000012_finance_console::Migration),
            Box::new(m20261205_000013_rollup_clustered::Migration),
            Box::new(m20261206_000014_rollup_day::Migration),
            Box::new(m20261207_000015_event_day::Migration),
            Box::new(m20261208_000016_correction_requests::Migration),
            Box::new(m20261209_000017_bank_details::Migration),
            Box::new(m20261210_000018_reference_keys::Migration),
            Box::new(m20261211_000019_refund_sources::Migration),
            Box::new(m20261212_000020_payout_requests::Migration),
            Box::new(m20261213_000021_reference_lookup::Migration),
        ];
        all.into_iter()
            .map(|m| Box::new(InOneTransaction(m)) as Box<dyn MigrationTrait>)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_runs_in_one_transaction_on_every_database() {
        for migration in Migrator::migrations() {
            assert_eq!(
                migration.use_transaction(),
                Some(true),
                "{}",
                migration.name()
            );
        }
    }
}
