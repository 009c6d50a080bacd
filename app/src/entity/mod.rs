//! sea-orm entities, one file per table (server only). The schema itself lives in `migrations`.

pub mod account_member;
pub mod ad;
pub mod ad_account;
pub mod ad_version;
pub mod app_user;
pub mod appeal;
pub mod audit_event;
pub mod campaign;
pub mod catalog_import;
pub mod catalog_import_row;
pub mod channel;
pub mod delivery_rollup;
pub mod email_link;
pub mod invitation;
pub mod notification;
pub mod outbox_message;
pub mod platform_setting;
pub mod policy_reason;
pub mod rate_limit;
pub mod review_decision;
pub mod review_decision_reason;
pub mod review_task;
pub mod staff_role;
pub mod topic;
pub mod tower_session;
