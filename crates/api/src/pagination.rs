//! How the Integration API reports pages, and how a client finds the next one.
//!
//! Listing operations take `page` (from 1) and `limit` query parameters. Most answers carry a
//! `pagination` object (`number`, `next_page_number`, `has_next`, ...). The beacon listing's
//! answer has none in the spec (only `count`, the size of the page): there a page shorter than
//! `limit` (or an empty page) is the last one. The clients follow a listing only as far as
//! their [`PagingLimits`] allow. This module compiles without the `http` feature.

use serde::{Deserialize, Serialize};

/// The `paginator` object inside [`Pagination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Paginator {
    /// Number of pages in all.
    #[serde(default)]
    pub num_pages: u32,
}

/// The `pagination` object of a listing answer. Every field tolerates being absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pagination {
    /// This page's number.
    #[serde(default)]
    pub number: u32,
    /// The next page's number, `null` on the last page.
    #[serde(default)]
    pub next_page_number: Option<u32>,
    /// The previous page's number, `null` on the first page.
    #[serde(default)]
    pub previous_page_number: Option<u32>,
    /// Page count.
    #[serde(default)]
    pub paginator: Option<Paginator>,
    /// Whether a next page exists.
    #[serde(default)]
    pub has_next: Option<bool>,
    /// Whether a previous page exists.
    #[serde(default)]
    pub has_previous: Option<bool>,
}

impl Pagination {
    /// Whether the object says if another page follows: it holds `has_next` or a
    /// `next_page_number`. An object without either (`{}`, or only `number`) does not, and a
    /// listing then goes by the page's length instead.
    pub fn tells_next(&self) -> bool {
        self.has_next.is_some() || self.next_page_number.is_some()
    }

    /// The page to ask for after `requested` (the page number that was asked for), or `None` on
    /// the last page. `has_next = false` always ends; a missing `has_next` continues only when a
    /// `next_page_number` is given. A "next" page that is not after `requested` ends too, so a
    /// server that repeats itself cannot loop a client forever.
    pub fn next_page(&self, requested: u32) -> Option<u32> {
        let has_next = self.has_next.unwrap_or(self.next_page_number.is_some());
        if !has_next {
            return None;
        }
        let current = if self.number == 0 {
            requested
        } else {
            self.number
        };
        let next = self
            .next_page_number
            .unwrap_or_else(|| current.saturating_add(1));
        (next > requested).then_some(next)
    }
}

/// One page of a paginated listing.
pub trait Page {
    /// What the listing lists.
    type Item;

    /// The page's items.
    fn items(&self) -> &[Self::Item];

    /// Consumes the page, giving its items.
    fn into_items(self) -> Vec<Self::Item>;

    /// The page to fetch after this one, or `None` when this is the last. `requested` and
    /// `limit` are what was asked for; the default follows [`Pagination::next_page`] when the
    /// answer has a `pagination` object that says whether more follows
    /// ([`Pagination::tells_next`]), else ends on a page shorter than `limit`: a `pagination`
    /// of `{}` (the endpoint-storage listing leaves its shape open) is read like no object at
    /// all, so it cannot end a listing after its first page.
    fn next_page(&self, requested: u32, limit: u32) -> Option<u32> {
        if self.items().is_empty() {
            return None;
        }
        match self.pagination().filter(|p| p.tells_next()) {
            Some(p) => p.next_page(requested),
            None => (self.items().len() >= limit as usize).then(|| requested.saturating_add(1)),
        }
    }

    /// The answer's `pagination` object, if it has one.
    fn pagination(&self) -> Option<&Pagination>;
}

/// `impl Page for $list` where the items are in the field `$items` and the `pagination`
/// object in the field `pagination`.
macro_rules! impl_page {
    ($list:ty, $item:ty, $items:ident) => {
        impl $crate::pagination::Page for $list {
            type Item = $item;
            fn items(&self) -> &[$item] {
                &self.$items
            }
            fn into_items(self) -> Vec<$item> {
                self.$items
            }
            fn pagination(&self) -> Option<&$crate::pagination::Pagination> {
                self.pagination.as_ref()
            }
        }
    };
}
pub(crate) use impl_page;

/// How far a client follows a paged listing before it gives up with
/// [`ApiError::PagingLimitReached`](crate::ApiError::PagingLimitReached): a server that keeps
/// announcing further pages (a full page every time, `has_next` stuck at true, a fresh cursor
/// every time) must not keep a client paging forever.
///
/// Applies to every stream of the clients (`locations_stream`, `beacons_stream`,
/// `endpoint_storages_stream`, `pull_profiles_stream`, `server_instances_stream`) and so to
/// `IntegrationClient::beacons`. Set it with the builders' `paging_limits` or
/// [`HttpConfig::paging`](crate::HttpConfig::paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingLimits {
    /// Most pages fetched for one listing. Default 1,000.
    pub max_pages: u32,
    /// Most items received for one listing. Default 100,000.
    pub max_items: u64,
    /// Most time spent waiting for the pages of one listing (the time the caller takes
    /// between items does not count). Default 60 s.
    pub max_time: std::time::Duration,
}

/// Default [`PagingLimits::max_pages`].
pub const DEFAULT_MAX_PAGES: u32 = 1_000;
/// Default [`PagingLimits::max_items`].
pub const DEFAULT_MAX_ITEMS: u64 = 100_000;
/// Default [`PagingLimits::max_time`].
pub const DEFAULT_MAX_PAGING_TIME: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for PagingLimits {
    fn default() -> Self {
        Self {
            max_pages: DEFAULT_MAX_PAGES,
            max_items: DEFAULT_MAX_ITEMS,
            max_time: DEFAULT_MAX_PAGING_TIME,
        }
    }
}

/// Which of the [`PagingLimits`] a listing ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagingLimit {
    /// [`PagingLimits::max_pages`]: another page was announced after this many.
    Pages(u32),
    /// [`PagingLimits::max_items`]: the next page would have gone past this many items.
    Items(u64),
    /// [`PagingLimits::max_time`]: waiting for pages took this long.
    Time(std::time::Duration),
}

impl std::fmt::Display for PagingLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pages(n) => write!(f, "the limit of {n} pages"),
            Self::Items(n) => write!(f, "the limit of {n} items"),
            Self::Time(d) => write!(f, "the time limit of {d:?}"),
        }
    }
}

/// Which listing is walked, for the errors and logs of [`walk_pages`], and its limits.
#[cfg(feature = "http")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageWalk {
    pub service: crate::Service,
    pub operation: &'static str,
    pub limits: PagingLimits,
}

#[cfg(feature = "http")]
impl PageWalk {
    fn limit_reached(&self, limit: PagingLimit, pages: u32, items: u64) -> crate::ApiError {
        tracing::warn!(
            service = %self.service,
            operation = self.operation,
            pages,
            items,
            limit = %limit,
            "stopped following a listing that does not end"
        );
        crate::ApiError::PagingLimitReached {
            service: self.service,
            operation: self.operation,
            limit,
            pages,
            items,
        }
    }
}

/// A fingerprint of a page's items, to notice a server sending the same page again.
#[cfg(feature = "http")]
fn fingerprint<T: Serialize>(items: &[T]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(items)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// Every item of every page of a listing, from the page `first` names: `fetch` gets one page
/// by its key (page number or cursor), `split` gives a page's items and the next page's key.
///
/// Ends after a page without a next key, on an empty page, and (with a warning) on a page
/// identical to the previous one or a next key already fetched (a server repeating its page
/// number, offset or cursor cannot loop the client; a repeated page's items are not passed on
/// twice). Fails with [`crate::ApiError::PagingLimitReached`] when `walk.limits` run out.
#[cfg(feature = "http")]
pub(crate) fn walk_pages<K, P, T, F, Fut, S>(
    first: K,
    walk: PageWalk,
    fetch: F,
    split: S,
) -> impl futures::Stream<Item = Result<T, crate::ApiError>> + Send + 'static
where
    K: Clone + Eq + std::hash::Hash + Send + 'static,
    T: Serialize + Send + 'static,
    F: FnMut(K) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<P, crate::ApiError>> + Send,
    S: Fn(P, &K) -> (Vec<T>, Option<K>) + Send + 'static,
{
    struct State<K, T, F, S> {
        fetch: F,
        split: S,
        next: Option<K>,
        seen: std::collections::HashSet<K>,
        buffer: std::vec::IntoIter<T>,
        pages: u32,
        items: u64,
        waited: std::time::Duration,
        previous: Option<u64>,
    }
    let state = State {
        fetch,
        split,
        next: Some(first),
        seen: std::collections::HashSet::new(),
        buffer: Vec::new().into_iter(),
        pages: 0,
        items: 0,
        waited: std::time::Duration::ZERO,
        previous: None,
    };
    futures::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(item) = st.buffer.next() {
                return Some((Ok(item), st));
            }
            let key = st.next.take()?;
            if st.pages >= walk.limits.max_pages {
                let e = walk.limit_reached(
                    PagingLimit::Pages(walk.limits.max_pages),
                    st.pages,
                    st.items,
                );
                return Some((Err(e), st));
            }
            let remaining = walk.limits.max_time.saturating_sub(st.waited);
            let started = tokio::time::Instant::now();
            let fetched = if remaining.is_zero() {
                None
            } else {
                tokio::time::timeout(remaining, (st.fetch)(key.clone()))
                    .await
                    .ok()
            };
            st.waited += started.elapsed();
            let page = match fetched {
                None => {
                    let e = walk.limit_reached(
                        PagingLimit::Time(walk.limits.max_time),
                        st.pages,
                        st.items,
                    );
                    return Some((Err(e), st));
                }
                Some(Err(e)) => return Some((Err(e), st)),
                Some(Ok(page)) => page,
            };
            st.pages += 1;
            let (items, next) = (st.split)(page, &key);
            st.seen.insert(key);
            if items.is_empty() {
                continue;
            }
            let print = fingerprint(&items);
            if st.previous == Some(print) {
                tracing::warn!(
                    service = %walk.service,
                    operation = walk.operation,
                    page = st.pages,
                    "the server sent the same page twice; the listing ends here"
                );
                continue;
            }
            st.previous = Some(print);
            let total = st.items + items.len() as u64;
            if total > walk.limits.max_items {
                let e = walk.limit_reached(
                    PagingLimit::Items(walk.limits.max_items),
                    st.pages,
                    st.items,
                );
                return Some((Err(e), st));
            }
            st.items = total;
            st.next = next.filter(|k| {
                let fresh = !st.seen.contains(k);
                if !fresh {
                    tracing::warn!(
                        service = %walk.service,
                        operation = walk.operation,
                        page = st.pages,
                        "the server pointed back to a page already fetched; the listing ends here"
                    );
                }
                fresh
            });
            st.buffer = items.into_iter();
        }
    })
}

/// Turns "fetch page n" into a stream of every item of every page, from page `first`, with
/// the limits and loop guards of [`walk_pages`].
#[cfg(feature = "http")]
pub(crate) fn page_stream<P, F, Fut>(
    first: u32,
    limit: u32,
    walk: PageWalk,
    fetch: F,
) -> impl futures::Stream<Item = Result<P::Item, crate::ApiError>> + Send + 'static
where
    P: Page + Send + 'static,
    P::Item: Serialize + Send + 'static,
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<P, crate::ApiError>> + Send,
{
    walk_pages(
        first.max(1),
        walk,
        fetch,
        move |page: P, requested: &u32| {
            let next = page.next_page(*requested, limit);
            (page.into_items(), next)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(number: u32, next: Option<u32>, has_next: Option<bool>) -> Pagination {
        Pagination {
            number,
            next_page_number: next,
            has_next,
            ..Pagination::default()
        }
    }

    #[test]
    fn follows_has_next_and_next_page_number() {
        assert_eq!(page(1, Some(2), Some(true)).next_page(1), Some(2));
        assert_eq!(page(2, None, Some(true)).next_page(2), Some(3));
        assert_eq!(page(3, Some(4), Some(false)).next_page(3), None);
        assert_eq!(page(3, None, None).next_page(3), None);
        assert_eq!(page(3, Some(4), None).next_page(3), Some(4));
    }

    #[test]
    fn an_object_without_has_next_or_next_page_number_tells_nothing() {
        assert!(!Pagination::default().tells_next());
        assert!(!page(1, None, None).tells_next());
        assert!(page(1, None, Some(false)).tells_next());
        assert!(page(1, Some(2), None).tells_next());
    }

    #[test]
    fn a_server_that_points_backwards_cannot_loop_the_client() {
        assert_eq!(page(2, Some(2), Some(true)).next_page(2), None);
        assert_eq!(page(2, Some(1), Some(true)).next_page(2), None);
    }
}
