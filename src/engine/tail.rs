//! Reading a stack's events without reading its history: CloudFormation
//! returns events newest first, so each poll pages back only until the last
//! event already seen (or the start of this operation), never further.

use super::cloud::{CloudResult, Stacks};
use super::model::{Millis, StackEvent};

#[derive(Debug, Clone)]
pub struct EventTail {
    stack_id: String,
    last_seen: Option<String>,
    /// Events older than this belong to earlier operations.
    since: Option<Millis>,
    /// DescribeStackEvents calls made, for the call-count budget.
    pub calls: usize,
    /// Pages read by a poll that failed midway: the next poll resumes there
    /// instead of starting over.
    partial: Vec<StackEvent>,
    resume_token: Option<String>,
}

impl EventTail {
    /// Follows a stack from its current newest event on (one call): only
    /// what happens from now is new.
    pub async fn after_latest<C: Stacks>(cloud: &C, stack_id: &str) -> CloudResult<EventTail> {
        let page = cloud.stack_events(stack_id, None).await?;
        Ok(EventTail {
            stack_id: stack_id.to_string(),
            last_seen: page.events.first().map(|e| e.id.clone()),
            since: None,
            calls: 1,
            partial: Vec::new(),
            resume_token: None,
        })
    }

    /// Follows a stack whose events of interest start at `since` (server
    /// time): a nested stack touched by the operation being watched.
    pub fn since(stack_id: &str, since: Millis) -> EventTail {
        EventTail { stack_id: stack_id.to_string(), last_seen: None, since: Some(since), calls: 0, partial: Vec::new(), resume_token: None }
    }

    pub fn stack_id(&self) -> &str {
        &self.stack_id
    }

    /// Events newer than the last seen, oldest first. A call that fails
    /// keeps what was read so far; the next poll continues from there.
    pub async fn poll<C: Stacks>(&mut self, cloud: &C) -> CloudResult<Vec<StackEvent>> {
        let mut token = self.resume_token.take();
        loop {
            let page = match cloud.stack_events(&self.stack_id, token.as_deref()).await {
                Ok(page) => page,
                Err(e) => {
                    // Resume paging later only if a page was already read.
                    self.resume_token = token.filter(|_| !self.partial.is_empty());
                    if self.resume_token.is_none() {
                        self.partial.clear();
                    }
                    return Err(e);
                }
            };
            self.calls += 1;
            let mut reached = false;
            for e in page.events {
                let seen = self.last_seen.as_deref() == Some(e.id.as_str());
                let older = self.since.is_some_and(|s| e.timestamp < s);
                if seen || older {
                    reached = true;
                    break;
                }
                self.partial.push(e);
            }
            match page.next_token {
                Some(next) if !reached => token = Some(next),
                _ => break,
            }
        }
        let mut fresh = std::mem::take(&mut self.partial);
        if let Some(newest) = fresh.first() {
            self.last_seen = Some(newest.id.clone());
        }
        fresh.reverse();
        Ok(fresh)
    }
}
