//! The change record: the wire format of the change log, its own versioned type.
//!
//! A record is a `kind` (a column) and a JSON object (the payload) carrying `"v"`, the version
//! of that kind's layout. Engine types never go on the wire: a record names plain integers and
//! strings, and is decoded at the edge into [`Change`], so a later binary reads what an older one
//! wrote. Rules for changing the format: a new optional field gets `#[serde(default)]` and keeps
//! the version; a field that changes meaning makes a new version, decoded beside the old one; a
//! kind this binary does not know is reported as [`DecodeError::UnknownKind`] and skipped by
//! consumers (counted in `social_live_changes_skipped_total`), which lets a newer binary add a
//! kind while older replicas still run.

use serde::{Deserialize, Serialize};

/// The layout version every record written by this binary carries.
pub const VERSION: u32 = 1;

/// How a user hides another: kept in a record as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HideKindRecord {
    Block,
    Mute,
}

/// A post as the change log carries it (what any consumer needs without reading the row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRecord {
    pub post: i64,
    pub author: i64,
    pub created_at: i64,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub text: String,
}

/// One change, decoded. Times are Unix seconds, as in the tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    PostCreated(PostRecord),
    PostEdited(PostRecord),
    PostDeleted {
        post: i64,
        author: i64,
    },
    /// A moderator hid the post: it leaves every list as a deleted one does, until restored.
    PostHidden {
        post: i64,
        author: i64,
    },
    /// A moderator restored a hidden post: it is a candidate again, as it was.
    PostRestored(PostRecord),
    Liked {
        user: i64,
        post: i64,
        at: i64,
    },
    /// A like taken back; `liked_at` is when the like was made (its engagement is retracted).
    Unliked {
        user: i64,
        post: i64,
        liked_at: i64,
    },
    Commented {
        user: i64,
        post: i64,
        comment: i64,
        at: i64,
    },
    /// First impressions of `posts` by `user` (repeats are not logged).
    Viewed {
        user: i64,
        posts: Vec<i64>,
        at: i64,
    },
    Followed {
        user: i64,
        author: i64,
    },
    Unfollowed {
        user: i64,
        author: i64,
    },
    /// `user` blocked or muted `target`; `removed` are the follows (follower, followee) a block
    /// deleted in the same transaction.
    Hidden {
        user: i64,
        target: i64,
        kind: HideKindRecord,
        removed: Vec<(i64, i64)>,
    },
    Unhidden {
        user: i64,
        target: i64,
        kind: HideKindRecord,
    },
    /// What authenticates `user`'s requests changed: their role, or their sessions (a sign-in
    /// started or ended, a password change ended every one). Consumers drop what they cached
    /// about the account (`principals.rs`) and read it again.
    AccountChanged {
        user: i64,
    },
    /// `user` was suspended (`until`: Unix seconds), banned (`until` = `i64::MAX`) or let back
    /// (`None`). Consumers withhold or release the user's posts and drop what they cached
    /// about the account, as for [`AccountChanged`](Self::AccountChanged).
    Restricted {
        user: i64,
        until: Option<i64>,
    },
    /// `user`'s muted words changed: consumers drop the user's cached context.
    MutedWordsChanged {
        user: i64,
    },
    /// An operator pointed the models directory's `current` at `version` (a rollback or roll
    /// forward): every replica reloads its model now instead of at its next poll.
    ModelCurrent {
        version: String,
    },
}

/// Why a stored record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Written by a newer binary (or corrupted): consumers skip it.
    #[error("unknown change kind {0:?}")]
    UnknownKind(String),
    /// A known kind in a layout version this binary cannot read.
    #[error("change kind {kind:?} has layout version {got}, this binary reads up to {VERSION}")]
    UnknownVersion { kind: String, got: u32 },
    #[error("malformed {kind:?} change: {source}")]
    Malformed {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The payload layouts, version 1. Each is a JSON object with `"v": 1`.
mod v1 {
    use super::{HideKindRecord, PostRecord};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub struct Post {
        pub v: u32,
        #[serde(flatten)]
        pub post: PostRecord,
    }
    #[derive(Serialize, Deserialize)]
    pub struct PostDeleted {
        pub v: u32,
        pub post: i64,
        pub author: i64,
    }
    /// A like, an unlike or a comment; `at` is when the engagement happened (for an unlike:
    /// when the like it takes back was made).
    #[derive(Serialize, Deserialize)]
    pub struct Engagement {
        pub v: u32,
        pub user: i64,
        pub post: i64,
        #[serde(default)]
        pub at: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub comment: Option<i64>,
    }
    #[derive(Serialize, Deserialize)]
    pub struct Viewed {
        pub v: u32,
        pub user: i64,
        pub posts: Vec<i64>,
        pub at: i64,
    }
    #[derive(Serialize, Deserialize)]
    pub struct Edge {
        pub v: u32,
        pub user: i64,
        pub other: i64,
    }
    #[derive(Serialize, Deserialize)]
    pub struct Hide {
        pub v: u32,
        pub user: i64,
        pub target: i64,
        pub kind: HideKindRecord,
        #[serde(default)]
        pub removed: Vec<(i64, i64)>,
    }
    #[derive(Serialize, Deserialize)]
    pub struct Account {
        pub v: u32,
        pub user: i64,
    }
    #[derive(Serialize, Deserialize)]
    pub struct Model {
        pub v: u32,
        pub version: String,
    }
    #[derive(Serialize, Deserialize)]
    pub struct Restricted {
        pub v: u32,
        pub user: i64,
        pub until: Option<i64>,
    }
}

impl Change {
    /// The record's kind, as stored in `changes.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PostCreated(_) => "post_created",
            Self::PostEdited(_) => "post_edited",
            Self::PostDeleted { .. } => "post_deleted",
            Self::PostHidden { .. } => "post_hidden",
            Self::PostRestored(_) => "post_restored",
            Self::Liked { .. } => "liked",
            Self::Unliked { .. } => "unliked",
            Self::Commented { .. } => "commented",
            Self::Viewed { .. } => "viewed",
            Self::Followed { .. } => "followed",
            Self::Unfollowed { .. } => "unfollowed",
            Self::Hidden { .. } => "hidden",
            Self::Unhidden { .. } => "unhidden",
            Self::AccountChanged { .. } => "account_changed",
            Self::Restricted { .. } => "restricted",
            Self::MutedWordsChanged { .. } => "muted_words_changed",
            Self::ModelCurrent { .. } => "model_current",
        }
    }

    /// The payload, as stored in `changes.payload`.
    pub fn payload(&self) -> String {
        let v = VERSION;
        let json = match self.clone() {
            Self::PostCreated(post) | Self::PostEdited(post) | Self::PostRestored(post) => {
                serde_json::to_string(&v1::Post { v, post })
            }
            Self::PostDeleted { post, author } | Self::PostHidden { post, author } => {
                serde_json::to_string(&v1::PostDeleted { v, post, author })
            }
            Self::Liked { user, post, at } => serde_json::to_string(&v1::Engagement {
                v,
                user,
                post,
                at,
                comment: None,
            }),
            Self::Unliked {
                user,
                post,
                liked_at,
            } => serde_json::to_string(&v1::Engagement {
                v,
                user,
                post,
                at: liked_at,
                comment: None,
            }),
            Self::Commented {
                user,
                post,
                comment,
                at,
            } => serde_json::to_string(&v1::Engagement {
                v,
                user,
                post,
                at,
                comment: Some(comment),
            }),
            Self::Viewed { user, posts, at } => {
                serde_json::to_string(&v1::Viewed { v, user, posts, at })
            }
            Self::Followed { user, author } | Self::Unfollowed { user, author } => {
                serde_json::to_string(&v1::Edge {
                    v,
                    user,
                    other: author,
                })
            }
            Self::Hidden {
                user,
                target,
                kind,
                removed,
            } => serde_json::to_string(&v1::Hide {
                v,
                user,
                target,
                kind,
                removed,
            }),
            Self::Unhidden { user, target, kind } => serde_json::to_string(&v1::Hide {
                v,
                user,
                target,
                kind,
                removed: Vec::new(),
            }),
            Self::AccountChanged { user } | Self::MutedWordsChanged { user } => {
                serde_json::to_string(&v1::Account { v, user })
            }
            Self::Restricted { user, until } => {
                serde_json::to_string(&v1::Restricted { v, user, until })
            }
            Self::ModelCurrent { version } => serde_json::to_string(&v1::Model { v, version }),
        };
        json.expect("change payloads are plain data")
    }

    /// Decodes a stored record.
    ///
    /// # Errors
    ///
    /// [`DecodeError`]: an unknown kind or version, or a payload that does not parse.
    pub fn decode(kind: &str, payload: &str) -> Result<Self, DecodeError> {
        #[derive(Deserialize)]
        struct Versioned {
            v: u32,
        }
        let malformed = |source| DecodeError::Malformed {
            kind: kind.to_owned(),
            source,
        };
        let Versioned { v } = serde_json::from_str(payload).map_err(malformed)?;
        if v == 0 || v > VERSION {
            return Err(DecodeError::UnknownVersion {
                kind: kind.to_owned(),
                got: v,
            });
        }
        fn parse<'a, T: Deserialize<'a>>(
            payload: &'a str,
            malformed: impl Fn(serde_json::Error) -> DecodeError,
        ) -> Result<T, DecodeError> {
            serde_json::from_str(payload).map_err(malformed)
        }
        Ok(match kind {
            "post_created" => Self::PostCreated(parse::<v1::Post>(payload, malformed)?.post),
            "post_edited" => Self::PostEdited(parse::<v1::Post>(payload, malformed)?.post),
            "post_restored" => Self::PostRestored(parse::<v1::Post>(payload, malformed)?.post),
            "post_deleted" | "post_hidden" => {
                let r: v1::PostDeleted = parse(payload, malformed)?;
                let (post, author) = (r.post, r.author);
                if kind == "post_deleted" {
                    Self::PostDeleted { post, author }
                } else {
                    Self::PostHidden { post, author }
                }
            }
            "liked" | "unliked" | "commented" => {
                let r: v1::Engagement = parse(payload, malformed)?;
                match kind {
                    "liked" => Self::Liked {
                        user: r.user,
                        post: r.post,
                        at: r.at,
                    },
                    "unliked" => Self::Unliked {
                        user: r.user,
                        post: r.post,
                        liked_at: r.at,
                    },
                    _ => Self::Commented {
                        user: r.user,
                        post: r.post,
                        comment: r.comment.unwrap_or(0),
                        at: r.at,
                    },
                }
            }
            "viewed" => {
                let r: v1::Viewed = parse(payload, malformed)?;
                Self::Viewed {
                    user: r.user,
                    posts: r.posts,
                    at: r.at,
                }
            }
            "followed" | "unfollowed" => {
                let r: v1::Edge = parse(payload, malformed)?;
                let (user, author) = (r.user, r.other);
                if kind == "followed" {
                    Self::Followed { user, author }
                } else {
                    Self::Unfollowed { user, author }
                }
            }
            "hidden" | "unhidden" => {
                let r: v1::Hide = parse(payload, malformed)?;
                if kind == "hidden" {
                    Self::Hidden {
                        user: r.user,
                        target: r.target,
                        kind: r.kind,
                        removed: r.removed,
                    }
                } else {
                    Self::Unhidden {
                        user: r.user,
                        target: r.target,
                        kind: r.kind,
                    }
                }
            }
            "account_changed" => Self::AccountChanged {
                user: parse::<v1::Account>(payload, malformed)?.user,
            },
            "muted_words_changed" => Self::MutedWordsChanged {
                user: parse::<v1::Account>(payload, malformed)?.user,
            },
            "restricted" => {
                let r: v1::Restricted = parse(payload, malformed)?;
                Self::Restricted {
                    user: r.user,
                    until: r.until,
                }
            }
            "model_current" => Self::ModelCurrent {
                version: parse::<v1::Model>(payload, malformed)?.version,
            },
            other => return Err(DecodeError::UnknownKind(other.to_owned())),
        })
    }

    /// The post whose row (text, topics, counts) this change alters: its cached row must be
    /// dropped.
    pub fn post_touched(&self) -> Option<i64> {
        match self {
            Self::PostEdited(post) | Self::PostRestored(post) => Some(post.post),
            Self::PostDeleted { post, .. }
            | Self::PostHidden { post, .. }
            | Self::Liked { post, .. }
            | Self::Unliked { post, .. }
            | Self::Commented { post, .. } => Some(*post),
            // A new post has no cached row yet; views are not part of a row.
            Self::PostCreated(_)
            | Self::Viewed { .. }
            | Self::Followed { .. }
            | Self::Unfollowed { .. }
            | Self::Hidden { .. }
            | Self::Unhidden { .. }
            | Self::AccountChanged { .. }
            | Self::Restricted { .. }
            | Self::MutedWordsChanged { .. }
            | Self::ModelCurrent { .. } => None,
        }
    }

    /// The users whose per-request context (followees, hidden authors, interactions, seen
    /// posts) this change alters: their cached contexts must be dropped.
    pub fn users_touched(&self) -> Vec<i64> {
        match self {
            Self::PostCreated(_)
            | Self::PostEdited(_)
            | Self::PostDeleted { .. }
            | Self::PostHidden { .. }
            | Self::PostRestored(_)
            | Self::AccountChanged { .. }
            | Self::Restricted { .. }
            | Self::ModelCurrent { .. } => Vec::new(),
            Self::MutedWordsChanged { user } => vec![*user],
            Self::Liked { user, .. }
            | Self::Unliked { user, .. }
            | Self::Commented { user, .. }
            | Self::Viewed { user, .. }
            | Self::Followed { user, .. }
            | Self::Unfollowed { user, .. } => vec![*user],
            // A block hides both ways (the target's context lists who blocked them); the
            // follows it removed change both sides' followees.
            Self::Hidden {
                user,
                target,
                removed,
                ..
            } => {
                let mut users = vec![*user, *target];
                users.extend(removed.iter().flat_map(|&(a, b)| [a, b]));
                users.sort_unstable();
                users.dedup();
                users
            }
            Self::Unhidden { user, target, .. } => vec![*user, *target],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Change> {
        let post = PostRecord {
            post: 7,
            author: 3,
            created_at: 1_700_000_000,
            topics: vec!["cars".into()],
            text: "a \"quoted\" text\n".into(),
        };
        vec![
            Change::PostCreated(post.clone()),
            Change::PostEdited(post.clone()),
            Change::PostRestored(post),
            Change::PostDeleted { post: 7, author: 3 },
            Change::PostHidden { post: 7, author: 3 },
            Change::MutedWordsChanged { user: 4 },
            Change::ModelCurrent {
                version: "20261201T000000Z".to_owned(),
            },
            Change::Liked {
                user: 1,
                post: 7,
                at: 5,
            },
            Change::Unliked {
                user: 1,
                post: 7,
                liked_at: 5,
            },
            Change::Commented {
                user: 1,
                post: 7,
                comment: 9,
                at: 6,
            },
            Change::Viewed {
                user: 1,
                posts: vec![7, 8],
                at: 6,
            },
            Change::Followed { user: 1, author: 3 },
            Change::Unfollowed { user: 1, author: 3 },
            Change::Hidden {
                user: 1,
                target: 3,
                kind: HideKindRecord::Block,
                removed: vec![(1, 3), (3, 1)],
            },
            Change::Unhidden {
                user: 1,
                target: 3,
                kind: HideKindRecord::Mute,
            },
            Change::AccountChanged { user: 4 },
            Change::Restricted {
                user: 4,
                until: Some(i64::MAX),
            },
            Change::Restricted {
                user: 4,
                until: None,
            },
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        for change in every_kind() {
            let back = Change::decode(change.kind(), &change.payload()).unwrap();
            assert_eq!(back, change);
        }
    }

    /// Records as version 1 writes them, frozen: a later binary must keep reading these.
    #[test]
    fn frozen_version_1_records_decode() {
        let cases = [
            (
                "post_created",
                r#"{"v":1,"post":7,"author":3,"created_at":10,"topics":["cars"],"text":"hi"}"#,
                Change::PostCreated(PostRecord {
                    post: 7,
                    author: 3,
                    created_at: 10,
                    topics: vec!["cars".into()],
                    text: "hi".into(),
                }),
            ),
            (
                "account_changed",
                r#"{"v":1,"user":4}"#,
                Change::AccountChanged { user: 4 },
            ),
            (
                "restricted",
                r#"{"v":1,"user":4,"until":1700000000}"#,
                Change::Restricted {
                    user: 4,
                    until: Some(1_700_000_000),
                },
            ),
            (
                "liked",
                r#"{"v":1,"user":1,"post":7,"at":5}"#,
                Change::Liked {
                    user: 1,
                    post: 7,
                    at: 5,
                },
            ),
            (
                "hidden",
                r#"{"v":1,"user":1,"target":3,"kind":"block","removed":[[1,3]]}"#,
                Change::Hidden {
                    user: 1,
                    target: 3,
                    kind: HideKindRecord::Block,
                    removed: vec![(1, 3)],
                },
            ),
            (
                "followed",
                r#"{"v":1,"user":1,"other":3}"#,
                Change::Followed { user: 1, author: 3 },
            ),
        ];
        for (kind, payload, want) in cases {
            assert_eq!(Change::decode(kind, payload).unwrap(), want, "{kind}");
        }
    }

    #[test]
    fn fields_added_later_are_ignored_by_this_reader() {
        let got = Change::decode(
            "followed",
            r#"{"v":1,"user":1,"other":3,"source":"suggestions"}"#,
        )
        .unwrap();
        assert_eq!(got, Change::Followed { user: 1, author: 3 });
    }

    #[test]
    fn unknown_kinds_versions_and_malformed_payloads_are_errors() {
        assert!(matches!(
            Change::decode("reposted", r#"{"v":1}"#),
            Err(DecodeError::UnknownKind(k)) if k == "reposted"
        ));
        assert!(matches!(
            Change::decode("liked", r#"{"v":2,"user":1,"post":7}"#),
            Err(DecodeError::UnknownVersion { got: 2, .. })
        ));
        assert!(matches!(
            Change::decode("liked", r#"{"v":1,"user":"x"}"#),
            Err(DecodeError::Malformed { .. })
        ));
        assert!(matches!(
            Change::decode("liked", "not json"),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn a_block_touches_both_users_and_the_removed_follows() {
        let change = Change::Hidden {
            user: 1,
            target: 3,
            kind: HideKindRecord::Block,
            removed: vec![(1, 3), (3, 1)],
        };
        assert_eq!(change.users_touched(), vec![1, 3]);
        assert!(
            Change::PostDeleted { post: 1, author: 2 }
                .users_touched()
                .is_empty()
        );
    }
}
