//! Store work (redb transactions, argon2 hashing) blocks the thread it
//! runs on; handlers hand it to tokio's blocking threads through
//! [`blocking`] (or [`blocking_with`] a service), which also turns its
//! error into the API's.

use std::sync::Arc;

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

/// Runs `work` with `service` on a blocking thread, as [`blocking`]
/// does: how a handler calls a service of the
/// [`AppContext`](super::AppContext).
pub async fn blocking_with<S, T, E>(
    service: &Arc<S>,
    work: impl FnOnce(&S) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    S: Send + Sync + ?Sized + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let service = Arc::clone(service);
    blocking(move || work(&service)).await
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
    async fn with_a_service_answers_the_same() {
        let service = Arc::new(6);
        assert_eq!(
            blocking_with(&service, |n| Ok::<_, TokenError>(n + 1))
                .await
                .unwrap(),
            7
        );
        let e = blocking_with(&service, |_| Err::<(), _>(TokenError::NotFound))
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
