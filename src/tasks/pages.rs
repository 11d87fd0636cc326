//! Recently answered task list pages, reused while their project's `version` stays: a
//! team's browsers and agents polling the same first page cost one lookup each instead of
//! a query and 100 tasks' worth of JSON. The version moves with every change a page shows,
//! whichever process makes it (triggers in `schema.sql`), and the caller's access is
//! checked before a page is looked up, so a cached page is what the query would answer.
//!
//! A page is found by the project id the request resolved to (`@current` names a different
//! project for each caller, and every project's version starts at 0) and by its absolute
//! URL: the public base its links use, the path its `next`/`previous` repeat, the filters
//! and the page. Nothing else about the caller shows on a page: reading needs `task:read`
//! on that project, checked before the lookup, and signed links are not per caller.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// How long a page is reused at most: its runs' signed `log_url`s, valid for an hour when
/// made, stay valid for at least 59 minutes after it is served.
const FRESH_FOR: Duration = Duration::from_secs(60);
/// Pages kept, and the largest kept: a first page of 100 tasks is about 110 KB.
const ENTRIES: usize = 32;
const MAX_BODY: usize = 256 * 1024;

struct Page {
    /// The project the page lists, as resolved for the caller that asked.
    project: i64,
    /// The list's absolute URL with its query: the public address its links use, the path,
    /// the filters and the page.
    key: String,
    version: i64,
    made: Instant,
    body: Bytes,
}

#[derive(Default)]
pub struct Pages {
    pages: Mutex<Vec<Page>>,
}

impl Pages {
    /// The page of `project` answered for `key` at this project version, if still fresh.
    pub fn get(&self, project: i64, key: &str, version: i64) -> Option<Bytes> {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages
            .iter()
            .find(|p| {
                p.project == project
                    && p.key == key
                    && p.version == version
                    && p.made.elapsed() < FRESH_FOR
            })
            .map(|p| p.body.clone())
    }

    /// Keeps a page just answered, in place of any older one for the same list; the
    /// oldest page goes when the cache is full.
    pub fn put(&self, project: i64, key: String, version: i64, body: Bytes) {
        if body.len() > MAX_BODY {
            return;
        }
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.retain(|p| p.project != project || p.key != key);
        if pages.len() >= ENTRIES
            && let Some(oldest) = (0..pages.len()).min_by_key(|&i| pages[i].made)
        {
            pages.swap_remove(oldest);
        }
        pages.push(Page {
            project,
            key,
            version,
            made: Instant::now(),
            body,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_reused_only_at_its_version() {
        let pages = Pages::default();
        pages.put(7, "a".into(), 1, Bytes::from_static(b"one"));
        assert_eq!(pages.get(7, "a", 1).as_deref(), Some(&b"one"[..]));
        assert_eq!(pages.get(7, "a", 2), None);
        assert_eq!(pages.get(7, "b", 1), None);
        pages.put(7, "a".into(), 2, Bytes::from_static(b"two"));
        assert_eq!(pages.get(7, "a", 1), None);
        assert_eq!(pages.get(7, "a", 2).as_deref(), Some(&b"two"[..]));
    }

    #[test]
    fn a_page_is_only_served_for_its_project() {
        let pages = Pages::default();
        pages.put(1, "a".into(), 3, Bytes::from_static(b"one"));
        assert_eq!(pages.get(2, "a", 3), None);
        pages.put(2, "a".into(), 3, Bytes::from_static(b"two"));
        assert_eq!(pages.get(1, "a", 3).as_deref(), Some(&b"one"[..]));
        assert_eq!(pages.get(2, "a", 3).as_deref(), Some(&b"two"[..]));
    }

    #[test]
    fn the_cache_stays_small() {
        let pages = Pages::default();
        for i in 0..100 {
            pages.put(1, format!("k{i}"), 1, Bytes::from_static(b"x"));
        }
        assert_eq!(pages.pages.lock().unwrap().len(), ENTRIES);
        assert!(pages.get(1, "k99", 1).is_some());
        assert!(pages.get(1, "k0", 1).is_none());
        pages.put(1, "big".into(), 1, Bytes::from(vec![b' '; MAX_BODY + 1]));
        assert!(pages.get(1, "big", 1).is_none());
    }
}
