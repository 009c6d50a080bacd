//! Domain logic (server only): plain async functions over a database connection. Services never
//! touch Leptos, sessions or HTTP; they take the caller's `Actor` and enforce authorization
//! themselves, scoping every query by ids that came from the session.

pub mod accounts;
pub mod actor;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod catalog_import;
pub mod catalog_seed;
pub mod forecast;
pub mod invitations;
pub mod members;
pub mod passwords;
pub mod seed;
pub mod settings;

pub use actor::Actor;
