//! Domain logic (server only): plain async functions over a database connection. Services never
//! touch Leptos, sessions or HTTP; they take the caller's `Actor` and enforce authorization
//! themselves, scoping every query by ids that came from the session.

pub mod account_time;
pub mod accounts;
pub mod actor;
pub mod admin;
pub mod ads;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod catalog;
pub mod catalog_import;
pub mod catalog_seed;
pub mod dashboard;
pub mod delivery;
pub mod demo_campaigns;
pub mod demo_delivery;
pub mod finance;
pub mod forecast;
pub mod invitations;
pub mod ledger;
pub mod mail;
pub mod members;
pub mod moderation;
pub mod notifications;
pub mod paging;
pub mod passwords;
pub mod policy;
pub mod rate_limit;
pub mod reads;
pub mod reports;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod sign_up;
pub mod spend;
pub mod sql;
pub mod verification;

pub use actor::Actor;
