//! `server backup PATH`: a consistent copy of a running SQLite database, taken online.
//!
//! SQLite's `VACUUM INTO` writes the database as one read transaction sees it, so writers
//! carry on meanwhile and the copy is whole (and compact). PostgreSQL has its own tools:
//! `pg_dump --format=custom` for a logical copy of one database, `pg_basebackup` for the
//! cluster (see the README's "Operating Herald").

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use std::path::Path;

/// Copies the database behind `db` to a new file at `target`; refuses to overwrite one.
pub async fn sqlite(db: &DatabaseConnection, target: &Path) -> Result<u64, String> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Err(
            "`server backup` copies SQLite databases; for PostgreSQL use \
             `pg_dump --format=custom --file=herald.dump DATABASE_URL` (see the README)"
                .to_owned(),
        );
    }
    if target.exists() {
        return Err(format!(
            "{} already exists: choose a new file name",
            target.display()
        ));
    }
    let path = target
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", target.display()))?;
    // A bound parameter keeps any quote in the path from reaching the SQL text.
    db.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        "VACUUM INTO ?",
        [path.into()],
    ))
    .await
    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    std::fs::metadata(target)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read {}: {e}", target.display()))
}
