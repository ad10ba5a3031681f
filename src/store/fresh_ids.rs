//! The one policy for an id that turns out to be taken: give the rows new ids and try again.
//!
//! Ids are made without coordination, so the database's primary key is what finally guarantees
//! uniqueness. Posting and seeding meet a taken id the same way, through [`with_fresh_ids`]; each
//! attempt draws its ids afresh, since only the caller knows how to make them (a live post from
//! the instance's leased node, a seed from its backfill).

use std::future::Future;

use super::StoreError;
use crate::domain::MessageId;

/// Attempts at storing before a taken id is reported to the caller. Each attempt draws new ids, so
/// a second collision is already rare and a fifth one means the ids are not fresh at all.
pub const ID_ATTEMPTS: usize = 5;

/// A failure that may be a taken id: the one failure that new ids cure.
pub trait TakenId {
    /// The id found taken, when that is what failed.
    fn taken_id(&self) -> Option<MessageId>;
}

impl TakenId for StoreError {
    fn taken_id(&self) -> Option<MessageId> {
        match self {
            Self::DuplicateId(taken) => Some(*taken),
            _ => None,
        }
    }
}

/// Runs `attempt` (given its number, from 1) until it stores its rows, fails for another reason
/// than a taken id, or has been made [`ID_ATTEMPTS`] times. An attempt after the first must draw
/// new ids.
pub async fn with_fresh_ids<T, E: TakenId, F>(mut attempt: impl FnMut(usize) -> F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut number = 1;
    loop {
        match attempt(number).await {
            Err(error) if number < ID_ATTEMPTS => match error.taken_id() {
                Some(taken) => {
                    tracing::warn!(%taken, attempt = number, "an id is already taken; retrying with new ids");
                    number += 1;
                }
                None => return Err(error),
            },
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken() -> StoreError {
        StoreError::DuplicateId(MessageId::from_i64(42))
    }

    /// Attempts made, and the outcome, when every attempt before number `ok_at` fails with `fail()`.
    async fn run(ok_at: usize, fail: fn() -> StoreError) -> (usize, Result<usize, StoreError>) {
        let mut made = 0;
        let outcome = with_fresh_ids(|number| {
            made += 1;
            async move {
                if number >= ok_at {
                    Ok(number)
                } else {
                    Err(fail())
                }
            }
        })
        .await;
        (made, outcome)
    }

    #[tokio::test]
    async fn a_taken_id_is_tried_again_until_the_attempts_run_out() {
        assert!(matches!(run(3, taken).await, (3, Ok(3))));
        let (made, outcome) = run(usize::MAX, taken).await;
        assert_eq!(made, ID_ATTEMPTS);
        assert!(matches!(outcome, Err(StoreError::DuplicateId(_))));
    }

    #[tokio::test]
    async fn any_other_failure_ends_the_attempts_at_once() {
        let (made, outcome) = run(usize::MAX, || StoreError::PastCommitDeadline).await;
        assert_eq!(made, 1);
        assert!(matches!(outcome, Err(StoreError::PastCommitDeadline)));
    }
}
