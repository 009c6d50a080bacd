//! One page of a list and the number of rows in the whole list, counted only when the page
//! cannot tell: a page with fewer rows than a full one is the list's last, so the total is the
//! rows before it plus its own. Most lists fit on their first page, which then costs one
//! statement instead of two (a signed-in page is a dozen or so statements, each a round trip
//! to SQLite's worker thread). The page and the count were never read atomically, so nothing
//! a caller could rely on changes.

use crate::model::PAGE_SIZE;
use sea_orm::{ConnectionTrait, DbErr, PaginatorTrait, SelectorTrait};

/// The last page a client may ask for (2.5 million rows in): past it a request reads that
/// page, so the offset stays bounded and `page × size` cannot overflow.
pub const MAX_PAGE: u64 = 100_000;

/// The rows of page `page` (from 0, [`PAGE_SIZE`] rows a page; at most [`MAX_PAGE`]) of
/// `query`, the list's total, and the page read (`page`, or [`MAX_PAGE`] past it).
pub async fn rows_and_total<'db, C, Q>(
    db: &'db C,
    query: Q,
    page: u64,
) -> Result<(Vec<<Q::Selector as SelectorTrait>::Item>, u64, u64), DbErr>
where
    C: ConnectionTrait,
    Q: PaginatorTrait<'db, C>,
{
    let page = page.min(MAX_PAGE);
    let paginator = query.paginate(db, PAGE_SIZE);
    let rows = paginator.fetch_page(page).await?;
    let total = match short_page_total(page, PAGE_SIZE, rows.len() as u64) {
        Some(total) => total,
        None => paginator.num_items().await?,
    };
    Ok((rows, total, page))
}

/// The total a page of `len` rows tells by itself: `None` when it is full (more may follow) or
/// empty past the first page (the list may have shrunk: count it).
fn short_page_total(page: u64, size: u64, len: u64) -> Option<u64> {
    if len >= size || (len == 0 && page > 0) {
        return None;
    }
    // A page with rows lies within the list, so `page * size` is below its length.
    page.checked_mul(size)?.checked_add(len)
}

#[cfg(test)]
mod tests {
    use super::short_page_total;

    #[test]
    fn only_a_short_page_with_rows_or_the_first_page_tells_the_total() {
        assert_eq!(short_page_total(0, 25, 0), Some(0));
        assert_eq!(short_page_total(0, 25, 7), Some(7));
        assert_eq!(short_page_total(3, 25, 7), Some(82));
        assert_eq!(short_page_total(0, 25, 25), None);
        assert_eq!(short_page_total(2, 25, 25), None);
        assert_eq!(short_page_total(4, 25, 0), None);
        assert_eq!(short_page_total(u64::MAX, 25, 1), None);
    }
}
