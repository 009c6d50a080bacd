//! Pagination shared by every list.

use serde::{Deserialize, Serialize};

/// Rows per page in every paginated list.
pub const PAGE_SIZE: u64 = 25;

/// One page of a list, with enough to draw "page 2 of 7".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// Zero-based page number that was served.
    pub page: u64,
    pub total: u64,
}

impl<T> Page<T> {
    /// Number of pages (at least one, so an empty list is "page 1 of 1").
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(PAGE_SIZE).max(1)
    }
}

/// Percent-encodes a query-string value.
pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_count_rounds_up_and_never_reaches_zero() {
        let page = |total| Page::<()> {
            rows: vec![],
            page: 0,
            total,
        };
        assert_eq!(page(0).pages(), 1);
        assert_eq!(page(25).pages(), 1);
        assert_eq!(page(26).pages(), 2);
    }
}
