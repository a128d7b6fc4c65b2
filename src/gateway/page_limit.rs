//! The `limit` of a list request, the same on every list.

use super::error::ApiError;
use actix_web::http::StatusCode;

/// The page size to use: the one asked for (at most `max`), or `default`. A limit of 0 asks for
/// nothing and is refused.
pub fn page_limit(requested: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match requested {
        Some(0) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query string: limit must be between 1 and {max}"),
        )),
        Some(limit) => Ok(limit.min(max)),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_refused_and_large_limits_are_capped() {
        assert!(page_limit(Some(0), 50, 1_000).is_err());
        assert_eq!(page_limit(Some(5_000), 50, 1_000).ok(), Some(1_000));
        assert_eq!(page_limit(None, 50, 1_000).ok(), Some(50));
        assert_eq!(page_limit(Some(7), 50, 1_000).ok(), Some(7));
    }
}
