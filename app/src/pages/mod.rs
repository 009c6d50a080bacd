//! One component per route, grouped by domain.

pub mod account;
pub mod admin;
pub mod auth;
pub mod balance;
pub mod campaigns;
pub mod channels;
pub mod dashboard;
pub mod developers;
pub mod finance;
pub mod invite;
pub mod members;
pub mod moderation;
pub mod not_found;
pub mod notifications;
pub mod public;
pub mod reports;
pub mod security;
pub mod shell;
pub mod statement;
pub mod targeting;
pub mod verify;

/// A UTC time as shown in tables ("2026-11-25 09:41 UTC").
pub fn utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
