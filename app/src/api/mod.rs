//! `#[server]` functions, one file per domain: each is an adapter that asks `ctx` who is
//! calling, then makes one service call.

pub mod accounts;
pub mod admin;
pub mod ads;
pub mod auth;
pub mod campaigns;
pub mod catalog;
pub mod catalog_import;
#[cfg(feature = "ssr")]
pub mod ctx;
pub mod dashboard;
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod download;
pub mod finance;
pub mod finance_console;
pub mod mail;
pub mod members;
pub mod moderation;
pub mod reports;
pub mod statements;
pub mod verification;
