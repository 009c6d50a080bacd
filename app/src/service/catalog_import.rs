//! Catalog CSV import: parse and check every row, stage the file with a preview of what would
//! change, then apply it in one transaction (upsert by handle) while reporting progress.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Imports being applied on this instance: id → rows written so far and rows to write.
#[derive(Clone, Debug, Default)]
pub struct ImportJobs {
    progress: Arc<Mutex<HashMap<i64, (u64, u64)>>>,
}
