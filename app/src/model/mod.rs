//! Wire types shared by the server and the browser: ids, roles, inputs (with validation), views.

pub mod account;
pub mod admin;
pub mod auth;
pub mod ids;
pub mod page;
pub mod roles;

pub use account::*;
pub use admin::*;
pub use auth::*;
pub use ids::*;
pub use page::*;
pub use roles::*;
