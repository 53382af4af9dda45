//! How the Integration API reports pages, and how a client finds the next one.
//!
//! Listing operations take `page` (from 1) and `limit` query parameters. Most answers carry a
//! `pagination` object (`number`, `next_page_number`, `has_next`, ...). The beacon listing's
//! answer has none in the spec (only `count`, the size of the page): there a page shorter than
//! `limit` (or an empty page) is the last one. This module compiles without the `http` feature.

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
    /// answer has a `pagination` object, else ends on a page shorter than `limit`.
    fn next_page(&self, requested: u32, limit: u32) -> Option<u32> {
        if self.items().is_empty() {
            return None;
        }
        match self.pagination() {
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

/// Turns "fetch page n" into a stream of every item of every page, from page `first`.
#[cfg(feature = "http")]
pub(crate) fn page_stream<P, F, Fut>(
    first: u32,
    limit: u32,
    fetch: F,
) -> impl futures::Stream<Item = Result<P::Item, crate::ApiError>> + Send + 'static
where
    P: Page + Send + 'static,
    P::Item: Send + 'static,
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<P, crate::ApiError>> + Send,
{
    struct State<F, I> {
        fetch: F,
        next: Option<u32>,
        buffer: std::vec::IntoIter<I>,
    }
    let state = State {
        fetch,
        next: Some(first.max(1)),
        buffer: Vec::new().into_iter(),
    };
    futures::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(item) = st.buffer.next() {
                return Some((Ok(item), st));
            }
            let page = st.next?;
            match (st.fetch)(page).await {
                Ok(p) => {
                    st.next = p.next_page(page, limit);
                    st.buffer = p.into_items().into_iter();
                }
                Err(e) => {
                    st.next = None;
                    return Some((Err(e), st));
                }
            }
        }
    })
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
    fn a_server_that_points_backwards_cannot_loop_the_client() {
        assert_eq!(page(2, Some(2), Some(true)).next_page(2), None);
        assert_eq!(page(2, Some(1), Some(true)).next_page(2), None);
    }
}
