//! Paging: page sizes against the profile and the opaque continuation tokens
//! (`c` and a number) that listings hand out and take back.

use super::PageRequest;
use super::{Error, State};

/// A checked page request: how many items, and where to continue from.
#[derive(Clone, Copy, Debug)]
pub(super) struct PageAt {
    pub size: usize,
    pub continuation: Option<u32>,
}

impl State {
    /// Checks a page request (400s: the size and the continuation's form).
    pub(super) fn check_page(&self, page: &PageRequest) -> Result<PageAt, Error> {
        let max = self.profile.page_size_max;
        let size = match page.page_size {
            None => self.profile.page_size_default as usize,
            Some(n) if n >= 1 && n <= max => n as usize,
            Some(n) => return Err(Error::PageSize { requested: n, max }),
        };
        let continuation = match &page.continuation {
            None => None,
            Some(token) => Some(parse_continuation(token)?),
        };
        Ok(PageAt { size, continuation })
    }

    /// A page request the request stage has checked.
    pub(super) fn page_at(&self, page: &PageRequest) -> PageAt {
        self.check_page(page)
            .expect("the request stage checked the page")
    }
}

/// Continuation tokens are opaque to callers: `c` and a number.
pub(super) fn continuation_token(n: u32) -> String {
    format!("c{n}")
}

fn parse_continuation(token: &str) -> Result<u32, Error> {
    token
        .strip_prefix('c')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| Error::BadContinuation {
            token: token.to_string(),
        })
}
