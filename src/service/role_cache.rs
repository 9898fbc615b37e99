//! The request form's role list, cached per account (README "The request form, and who can come
//! back").
//!
//! The type-ahead asks for roles on every keystroke. Listing them straight from IAM would call
//! `ListRoles` (up to ten pages an account) each time, during an incident, against the API the
//! revocation itself needs. So each account's whole role list is read once and kept:
//!
//! - **single-flight**: however many keystrokes arrive while a list is being read, one read runs,
//!   and every waiting keystroke gets its answer;
//! - **at most once a minute**: a list younger than `REFRESH_AFTER` is answered from memory; an
//!   older one is still answered at once while one refresh runs behind it;
//! - a failed read is not retried for `RETRY_AFTER`, so a broken account is not hammered either;
//! - the read runs on its own task: a keystroke that gives up (Slack's 3 s) does not cancel it,
//!   so the next keystroke finds the list ready.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::domain::role_arn::{AccountId, RoleArn};
use crate::metrics::Metrics;
use crate::ports::{Iam, IamError};

/// How old a cached list may be before a keystroke starts a refresh.
pub const REFRESH_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// How long a failed read is remembered before the next keystroke tries again.
pub const RETRY_AFTER: chrono::Duration = chrono::Duration::seconds(15);
/// The most roles kept for one account (IAM's quota is at most 5,000 by default, 10,000 raised).
pub const ROLES_KEPT: usize = 10_000;

/// One account's list, as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRoles {
    pub roles: Arc<Vec<RoleArn>>,
    /// The account holds more roles than `ROLES_KEPT`.
    pub more: bool,
}

type Read = Shared<BoxFuture<'static, Result<AccountRoles, Arc<IamError>>>>;

#[derive(Default)]
struct Entry {
    listed: Option<(DateTime<Utc>, AccountRoles)>,
    failed: Option<(DateTime<Utc>, Arc<IamError>)>,
    reading: Option<Read>,
}

pub struct RoleCache {
    iam: Arc<dyn Iam>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    /// The application's background work, so a read outlives the keystroke that started it and
    /// shutdown (and tests) can wait for it.
    tasks: TaskTracker,
    entries: Arc<Mutex<HashMap<AccountId, Entry>>>,
}

impl RoleCache {
    pub fn new(
        iam: Arc<dyn Iam>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        tasks: TaskTracker,
    ) -> Self {
        RoleCache {
            iam,
            clock,
            metrics,
            tasks,
            entries: Arc::default(),
        }
    }

    /// The roles of `account`: from memory when there is a list (refreshing it behind the answer
    /// when it is older than a minute), otherwise from the one read under way.
    pub async fn roles(&self, account: &AccountId) -> Result<AccountRoles, Arc<IamError>> {
        let read = {
            let now = self.clock.now();
            let Ok(mut entries) = self.entries.lock() else {
                return Err(Arc::new(poisoned()));
            };
            let entry = entries.entry(account.clone()).or_default();
            let may_read = entry.reading.is_none()
                && entry
                    .failed
                    .as_ref()
                    .is_none_or(|(at, _)| now - *at >= RETRY_AFTER);
            if let Some((at, roles)) = &entry.listed {
                if now - *at >= REFRESH_AFTER && may_read {
                    entry.reading = Some(self.start_read(account));
                }
                return Ok(roles.clone());
            }
            match (&entry.reading, &entry.failed) {
                (Some(read), _) => read.clone(),
                (None, Some((_, e))) if !may_read => return Err(e.clone()),
                (None, _) => {
                    let read = self.start_read(account);
                    entry.reading = Some(read.clone());
                    read
                }
            }
        };
        read.await
    }

    /// Start reading `account`'s roles on a task of its own; the result lands in the cache.
    fn start_read(&self, account: &AccountId) -> Read {
        let iam = self.iam.clone();
        let clock = self.clock.clone();
        let metrics = self.metrics.clone();
        let entries = self.entries.clone();
        let account = account.clone();
        let task = self.tasks.spawn(async move {
            let listed = iam.list_roles(&account, "", ROLES_KEPT).await;
            if let Ok(list) = &listed {
                metrics.role_list_calls(list.pages);
            }
            let result = listed
                .map(|list| AccountRoles {
                    roles: Arc::new(list.roles),
                    more: list.more,
                })
                .map_err(Arc::new);
            if let Ok(mut entries) = entries.lock() {
                let entry = entries.entry(account).or_default();
                entry.reading = None;
                let now = clock.now();
                match &result {
                    Ok(roles) => {
                        entry.listed = Some((now, roles.clone()));
                        entry.failed = None;
                    }
                    Err(e) => entry.failed = Some((now, e.clone())),
                }
            }
            result
        });
        async move {
            match task.await {
                Ok(result) => result,
                Err(e) => Err(Arc::new(IamError::new(
                    "ListRoles",
                    crate::ports::IamErrorKind::Other,
                    format!("the role listing stopped: {e}"),
                ))),
            }
        }
        .boxed()
        .shared()
    }
}

fn poisoned() -> IamError {
    IamError::new(
        "ListRoles",
        crate::ports::IamErrorKind::Other,
        "the role cache is unavailable",
    )
}
