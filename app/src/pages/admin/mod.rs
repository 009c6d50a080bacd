//! Admin pages.

pub mod audit;
pub mod catalog_import;
pub mod channel;
pub mod delivery_keys;
pub mod mail;
pub mod policy;
pub mod settings;
pub mod topics;
pub mod users;
