//! Who may ask and who may approve (README "Using it in Slack"): user ids and user groups from the configuration,
//! group members from Slack, cached for at most 60 s. Fails closed: if Slack cannot answer, the
//! check is an error, never a yes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ids::{Principal, SlackGroupId, SlackUserId};
use crate::ports::{Slack, SlackError};

/// How long group memberships from `usergroups.users.list` are trusted.
pub const GROUP_CACHE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
#[error("could not check membership of {group}")]
pub struct MembershipError {
    group: SlackGroupId,
    #[source]
    source: SlackError,
}

/// Members of each user group and when they were fetched.
type GroupCache = HashMap<SlackGroupId, (Instant, Arc<Vec<SlackUserId>>)>;

pub struct Authorizer {
    slack: Arc<dyn Slack>,
    groups: Mutex<GroupCache>,
}

impl Authorizer {
    pub fn new(slack: Arc<dyn Slack>) -> Self {
        Authorizer {
            slack,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `user` is on `list`, directly or through a group. An empty list means nobody.
    pub async fn is_member(
        &self,
        list: &[Principal],
        user: &SlackUserId,
    ) -> Result<bool, MembershipError> {
        if list
            .iter()
            .any(|p| matches!(p, Principal::User(u) if u == user))
        {
            return Ok(true);
        }
        for p in list {
            if let Principal::Group(g) = p
                && self.group_members(g).await?.contains(user)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn group_members(
        &self,
        group: &SlackGroupId,
    ) -> Result<Arc<Vec<SlackUserId>>, MembershipError> {
        if let Ok(cache) = self.groups.lock()
            && let Some((at, members)) = cache.get(group)
            && at.elapsed() < GROUP_CACHE_TTL
        {
            return Ok(members.clone());
        }
        let members =
            Arc::new(
                self.slack
                    .group_members(group)
                    .await
                    .map_err(|source| MembershipError {
                        group: group.clone(),
                        source,
                    })?,
            );
        if let Ok(mut cache) = self.groups.lock() {
            cache.insert(group.clone(), (Instant::now(), members.clone()));
        }
        Ok(members)
    }
}
