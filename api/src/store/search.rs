//! Full-text search: FTS5 on SQLite, `tsvector` on PostgreSQL.
//!
//! The query a user types is reduced to word tokens (letters and digits) before it reaches
//! either engine, so no query syntax can be injected: every token must match, the last one
//! as a prefix (search-as-you-type).

use super::posts::PostRow;
use super::users::UserRow;
use super::{Backend, Store};

/// The word tokens of a query, lowercased; at most 8.
pub fn tokens(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

/// The FTS5 `MATCH` expression: `"a" "b"*`.
fn fts5_query(tokens: &[String]) -> String {
    let mut parts: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
    if let Some(last) = parts.last_mut() {
        last.push('*');
    }
    parts.join(" ")
}

/// The `to_tsquery('simple', …)` expression: `a & b:*`.
fn tsquery(tokens: &[String]) -> String {
    let mut parts: Vec<String> = tokens.to_vec();
    if let Some(last) = parts.last_mut() {
        last.push_str(":*");
    }
    parts.join(" & ")
}

impl Store {
    /// Live posts matching `tokens`, best match first (ties newest first), skipping `offset`.
    pub async fn search_posts(
        &self,
        tokens: &[String],
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<PostRow>> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let select = concat!("SELECT ", super::posts::post_columns!());
        let (sql, query) = match self.backend {
            Backend::Sqlite => (
                format!(
                    "{select} FROM posts_fts f JOIN posts p ON p.id = f.rowid \
                     WHERE posts_fts MATCH $1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL \
                     ORDER BY bm25(posts_fts), p.id DESC LIMIT $2 OFFSET $3"
                ),
                fts5_query(tokens),
            ),
            // Rank and cut the page first, then join authors and count likes and comments
            // for the page's rows only (a frequent word matches thousands of posts).
            Backend::Postgres => (
                format!(
                    "{select} FROM (SELECT p.id, ts_rank(p.search, q) AS rank \
                     FROM posts p, to_tsquery('simple', $1) q \
                     WHERE p.search @@ q AND p.deleted_at IS NULL AND p.hidden_at IS NULL \
                     ORDER BY rank DESC, p.id DESC LIMIT $2 OFFSET $3) m \
                     JOIN posts p ON p.id = m.id \
                     ORDER BY m.rank DESC, p.id DESC"
                ),
                tsquery(tokens),
            ),
        };
        sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
    }

    /// Users whose handle or display name matches `tokens`, best match first.
    pub async fn search_users(
        &self,
        tokens: &[String],
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRow>> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let columns = super::users::USER_COLUMNS_U;
        let (sql, query) = match self.backend {
            Backend::Sqlite => (
                format!(
                    "SELECT {columns} FROM users_fts f JOIN users u ON u.id = f.rowid \
                     WHERE users_fts MATCH $1 ORDER BY bm25(users_fts), u.id LIMIT $2 OFFSET $3"
                ),
                fts5_query(tokens),
            ),
            Backend::Postgres => (
                format!(
                    "SELECT {columns} FROM users u WHERE u.search @@ to_tsquery('simple', $1) \
                     ORDER BY ts_rank(u.search, to_tsquery('simple', $1)) DESC, u.id LIMIT $2 OFFSET $3"
                ),
                tsquery(tokens),
            ),
        };
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_only_word_tokens() {
        let t = tokens("  Rust\" OR 1=1; -- NEAR(x) café*");
        assert_eq!(t, vec!["rust", "or", "1", "1", "near", "x", "café"]);
        assert_eq!(fts5_query(&t[..2]), "\"rust\" \"or\"*");
        assert_eq!(tsquery(&t[..2]), "rust & or:*");
        assert!(tokens("!!! ---").is_empty());
    }
}
