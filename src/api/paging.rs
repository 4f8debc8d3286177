//! Paging of list routes: a list query fetches one row more than the page, and the cursor
//! of the next page comes from the last row shown.

/// Trims the one extra row a list query fetches and returns the cursor for the next page.
pub fn page_cursor<T>(rows: &mut Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Option<String> {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    }
}
