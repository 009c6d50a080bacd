//! Campaign pages: the list, the builder, and the ad editor.

pub mod ad_edit;
pub mod ads;
pub mod budget;
pub mod decisions;
pub mod edit;
pub mod list;
