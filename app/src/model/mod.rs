//! Wire types shared by the server and the browser: ids, roles, inputs (with validation), views.

pub mod account;
pub mod ad;
pub mod ad_checks;
pub mod admin;
pub mod auth;
pub mod campaign;
pub mod campaign_view;
pub mod catalog;
pub mod ids;
pub mod languages;
pub mod lifecycle;
pub mod members;
pub mod money;
pub mod page;
pub mod roles;
pub mod targeting;

pub use account::*;
pub use ad::*;
pub use ad_checks::*;
pub use admin::*;
pub use auth::*;
pub use campaign::*;
pub use campaign_view::*;
pub use catalog::*;
pub use ids::*;
pub use languages::*;
pub use lifecycle::*;
pub use members::*;
pub use money::*;
pub use page::*;
pub use roles::*;
pub use targeting::*;
