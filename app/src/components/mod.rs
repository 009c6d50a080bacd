//! Reusable view pieces: props in, callbacks out, no server calls.

pub mod forecast;
pub mod form;
pub mod layout;
pub mod pager;

pub use forecast::*;
pub use form::*;
pub use layout::*;
pub use pager::*;
