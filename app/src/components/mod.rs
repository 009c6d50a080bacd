//! Reusable view pieces: props in, callbacks out, no server calls.

pub mod ad_preview;
pub mod chart;
pub mod copy;
pub mod decision;
pub mod disclosure;
pub mod forecast;
pub mod form;
pub mod layout;
pub mod pager;
pub mod schedule;

pub use ad_preview::*;
pub use chart::*;
pub use copy::*;
pub use decision::*;
pub use disclosure::*;
pub use forecast::*;
pub use form::*;
pub use layout::*;
pub use pager::*;
pub use schedule::*;
