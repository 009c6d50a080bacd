//! The moderator's workspace: the review queue and the review screen.

pub mod queue;
pub mod review;
