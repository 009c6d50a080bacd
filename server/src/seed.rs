//! `server seed`: demo data for an empty database, with the demo passwords printed once.

use app::service::{passwords::PasswordHasher, seed};
use sea_orm::DatabaseConnection;

/// Seeds when the database has no users; says so and does nothing otherwise.
pub async fn run(
    db: &DatabaseConnection,
    channels: usize,
    catalog_seed: u64,
) -> Result<(), String> {
    if !seed::is_empty(db).await.map_err(|e| e.to_string())? {
        println!("The database already has users; nothing seeded.");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let logins = populate(db, channels, catalog_seed).await?;
    println!();
    println!(
        "Demo data created ({channels} channels, seed {catalog_seed}) in {:.1?}.",
        started.elapsed()
    );
    println!("Demo sign-ins (shown once — store them now):");
    for login in logins {
        println!("  {:<26} {}   {}", login.email, login.password, login.what);
    }
    println!();
    Ok(())
}

/// The demo data (users, catalog, campaigns, three days of delivery, finance's work) in an
/// empty database; returns the sign-ins. Tests use it to see every page with content.
pub async fn populate(
    db: &DatabaseConnection,
    channels: usize,
    catalog_seed: u64,
) -> Result<Vec<seed::DemoLogin>, String> {
    let logins = seed::seed(db, &PasswordHasher::new(2), channels, catalog_seed)
        .await
        .map_err(|e| e.to_string())?;
    let history = app::service::demo_delivery::create(
        db,
        "advertiser@herald.local",
        "finance@herald.local",
        app::model::Micros::units(1_000),
        3,
        catalog_seed,
    )
    .await
    .map_err(|e| e.to_string())?;
    app::service::demo_delivery::finance_work(
        db,
        "advertiser@herald.local",
        "finance@herald.local",
        "approver@herald.local",
    )
    .await
    .map_err(|e| e.to_string())?;
    app::service::demo_delivery::pending_top_up(
        db,
        "advertiser@herald.local",
        "approver@herald.local",
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "Demo delivery: {} decisions, {} view reports, {} charged (the last 3 days and a day last month).",
        history.decisions,
        history.events,
        history.posted.display("EUR")
    );
    Ok(logins)
}
