//! The public request and response types of a feed page.

use serde::{Deserialize, Serialize};

use crate::ids::{PostId, UserId};

/// A request for one page of a user's feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRequest {
    /// Page size, `1..=FeedConfig::max_page_size`.
    pub limit: usize,
    /// The `next_cursor` of the previous page, `None` for a fresh feed.
    pub cursor: Option<String>,
    /// The current time, Unix seconds (freshness and trending are relative to it).
    pub now: i64,
}

impl FeedRequest {
    /// The first page of a fresh feed, at the current system time.
    pub fn first(limit: usize) -> Self {
        Self {
            limit,
            cursor: None,
            now: unix_now(),
        }
    }

    /// The page after the one that returned `cursor`, at the current system time.
    pub fn next(limit: usize, cursor: String) -> Self {
        Self {
            limit,
            cursor: Some(cursor),
            now: unix_now(),
        }
    }
}

/// The current system time in Unix seconds (0 before the epoch).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Why a post is in the feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A nearest neighbour of the user's vector: "similar to posts you liked".
    Similar,
    /// A recent post of an author the user follows: "from someone you follow".
    Followed,
    /// Engaged with a lot recently: "trending".
    Trending,
    /// Among the most interacted-with posts of the training data: "popular".
    Popular,
    /// Posted since the model was trained (the explore slot): "new".
    Fresh,
}

impl Reason {
    /// A short text a client can show.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Similar => "similar to posts you liked",
            Self::Followed => "from someone you follow",
            Self::Trending => "trending",
            Self::Popular => "popular",
            Self::Fresh => "new",
        }
    }
}

/// One post of a feed page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    /// The post.
    pub post: PostId,
    /// Its author.
    pub author: UserId,
    /// The blended score the page is ranked by (higher first, before the diversity rule).
    pub score: f32,
    /// Why it is here, in [`Reason`] order, never empty.
    pub reasons: Vec<Reason>,
}

/// How many distinct admissible candidates each source supplied to the ranked list a page
/// was cut from (summed over the lists ranked for the page when one was not enough).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    /// Nearest neighbours (HNSW index and the exact buffer of new posts).
    pub similar: usize,
    /// Recent posts of followed authors.
    pub followed: usize,
    /// Live trending posts.
    pub trending: usize,
    /// Popular posts of the training data (trending fallback).
    pub popular: usize,
    /// New posts (explore slot).
    pub fresh: usize,
}

impl SourceCounts {
    /// The counts of both, source by source.
    pub fn plus(&self, other: &Self) -> Self {
        Self {
            similar: self.similar + other.similar,
            followed: self.followed + other.followed,
            trending: self.trending + other.trending,
            popular: self.popular + other.popular,
            fresh: self.fresh + other.fresh,
        }
    }
}

/// One page of a feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The posts, best first.
    pub items: Vec<FeedItem>,
    /// Pass this back for the next page; `None` when the feed has nothing more.
    pub next_cursor: Option<String>,
    /// The model version that ranked every item of this page.
    pub model_version: String,
    /// What each candidate source supplied.
    pub sources: SourceCounts,
}
