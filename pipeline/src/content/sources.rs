//! Post features from each data source, as `datasets::posts::PostRecord`s keyed by item id.

use std::path::Path;

use datasets::movielens::MovieItem;
use datasets::posts::{PostRecord, TopicSeparator, load_posts};
use datasets::synthetic::SocialNetwork;

use super::PostFeatures;
use crate::error::Result;

/// The synthetic network's posts: item id = post id, author = user id, topics = topic names.
pub fn from_synthetic(net: &SocialNetwork) -> PostFeatures {
    let posts = net
        .posts
        .iter()
        .map(|p| PostRecord {
            id: p.id.to_string(),
            author: Some(p.author.to_string()),
            created_at: Some(p.created_at),
            topics: p
                .topics
                .iter()
                .map(|&t| net.topic_names[t as usize].clone())
                .collect(),
            text: p.text.clone(),
        })
        .collect();
    PostFeatures {
        source: "synthetic posts (topics, text, authors)".to_owned(),
        posts,
    }
}

/// MovieLens movies: genres as topics, the title as text, no author.
pub fn from_movielens(items: Vec<MovieItem>) -> PostFeatures {
    let posts = items
        .into_iter()
        .map(|m| PostRecord {
            id: m.id,
            author: None,
            created_at: None,
            topics: m.genres,
            text: m.title,
        })
        .collect();
    PostFeatures {
        source: "ml-100k.item (genres as topics, title as text)".to_owned(),
        posts,
    }
}

/// A posts file (`|`-separated topics).
///
/// # Errors
///
/// [`crate::Error::Dataset`] if the file cannot be read or has a malformed row.
pub fn from_file(path: &Path) -> Result<PostFeatures> {
    Ok(PostFeatures {
        source: format!("posts file {}", path.display()),
        posts: load_posts(path, TopicSeparator::Pipe)?,
    })
}
