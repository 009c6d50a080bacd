//! sea-orm entities, one file per table (server only). The schema itself lives in `migrations`.

pub mod account_member;
pub mod ad_account;
pub mod app_user;
pub mod audit_event;
pub mod catalog_import;
pub mod channel;
pub mod invitation;
pub mod platform_setting;
pub mod staff_role;
pub mod topic;
pub mod tower_session;
