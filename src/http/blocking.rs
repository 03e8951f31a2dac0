//! Store work (redb transactions, argon2 hashing) blocks the thread it
//! runs on; handlers hand it to tokio's blocking threads through
//! [`blocking`], which also turns its error into the API's.

use super::error::ApiError;

/// Runs `work` on a blocking thread and answers its result, its error
/// mapped by the `From` impls in [`super::error`]. A panic in `work` is
/// an internal error, as any other failure of the handler's own.
pub async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::TokenError;

    #[tokio::test]
    async fn answers_the_value_or_the_mapped_error() {
        assert_eq!(blocking(|| Ok::<_, TokenError>(7)).await.unwrap(), 7);
        let e = blocking(|| Err::<(), _>(TokenError::NotFound))
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::NotFound), "{e:?}");
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error() {
        let e = blocking(|| -> Result<(), ApiError> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::Internal(_)), "{e:?}");
    }
}
