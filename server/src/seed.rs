//! `server seed`: demo data for an empty database, with the demo passwords printed once.

use crate::config::LogFormat;
use app::service::{passwords::PasswordHasher, seed};
use sea_orm::DatabaseConnection;

/// The demo data created: its sign-ins, and a line on the delivery history made for it.
pub struct Demo {
    pub logins: Vec<seed::DemoLogin>,
    pub delivery: String,
}

/// Prints what `run` says, whatever `HERALD_LOG` filters: as text, or with JSON logs as one
/// JSON object per line in the log lines' shape, so that a log collector reading the output
/// gets nothing but JSON (the demo passwords are shown this once, so no filter may drop them).
fn say(format: LogFormat, text: &str, fields: serde_json::Value) {
    match format {
        LogFormat::Text => println!("{text}"),
        LogFormat::Json => {
            let mut fields = fields;
            fields["message"] = text.into();
            println!(
                "{}",
                crate::observe::json_line("INFO", "herald::seed", fields)
            );
        }
    }
}

/// Seeds when the database has no users; says so and does nothing otherwise. Refuses a
/// database whose demo seed began and never finished (see [`seed::interrupted`]).
pub async fn run(
    db: &DatabaseConnection,
    channels: usize,
    catalog_seed: u64,
    format: LogFormat,
) -> Result<(), String> {
    if seed::interrupted(db).await.map_err(|e| e.to_string())? {
        return Err(INTERRUPTED.to_owned());
    }
    if !seed::is_empty(db).await.map_err(|e| e.to_string())? {
        say(
            format,
            "The database already has users; nothing seeded.",
            serde_json::json!({}),
        );
        return Ok(());
    }
    let started = std::time::Instant::now();
    let demo = populate(db, channels, catalog_seed).await?;
    let text = format!(
        "Demo data created ({channels} channels, seed {catalog_seed}) in {:.1?}. {}",
        started.elapsed(),
        demo.delivery
    );
    say(
        format,
        &text,
        serde_json::json!({ "channels": channels, "seed": catalog_seed }),
    );
    if format == LogFormat::Text {
        println!("Demo sign-ins (shown once — store them now):");
    }
    for login in demo.logins {
        match format {
            LogFormat::Text => {
                println!("  {:<26} {}   {}", login.email, login.password, login.what);
            }
            LogFormat::Json => say(
                format,
                "demo sign-in",
                serde_json::json!({
                    "email": login.email,
                    "password": login.password,
                    "who": login.what,
                }),
            ),
        }
    }
    Ok(())
}

/// Why a database whose seed began and never finished is refused.
const INTERRUPTED: &str = "this database holds part of the demo data: its seed began and did \
    not finish (it was stopped half-way, or another instance is seeding it now). Wait for that \
    instance, or remove the database (or point DATABASE_URL at a new one) and seed again";

/// The demo data (users, catalog, campaigns, three days of delivery, finance's work) in an
/// empty database; returns the sign-ins. Tests use it to see every page with content.
pub async fn populate(
    db: &DatabaseConnection,
    channels: usize,
    catalog_seed: u64,
) -> Result<Demo, String> {
    if !seed::begin(db).await.map_err(|e| e.to_string())? {
        return Err(INTERRUPTED.to_owned());
    }
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
    seed::finish(db).await.map_err(|e| e.to_string())?;
    Ok(Demo {
        logins,
        delivery: format!(
            "Demo delivery: {} decisions, {} view reports, {} charged (the last 3 days and a \
             day last month).",
            history.decisions,
            history.events,
            history.posted.display("EUR")
        ),
    })
}
