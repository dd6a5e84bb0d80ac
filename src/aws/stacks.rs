//! [`Stacks`]: CloudFormation, and the S3 bucket templates are staged in.

use aws_sdk_cloudformation::types::{self as cfn, Capability, ChangeSetType, StackStatus};
use aws_sdk_s3::primitives::ByteStream;

use super::errors::{cloud_error, millis, missing};
use super::AwsCloud;
use crate::engine::cloud::{CloudResult, Stacks};
use crate::engine::model::*;

/// None for no tags: an empty list would remove a stack's tags on update.
fn tags(tags: &[(String, String)]) -> Option<Vec<cfn::Tag>> {
    (!tags.is_empty()).then(|| tags.iter().map(|(k, v)| cfn::Tag::builder().key(k).value(v).build()).collect())
}

fn parameters(parameters: &[(String, String)]) -> Option<Vec<cfn::Parameter>> {
    (!parameters.is_empty())
        .then(|| parameters.iter().map(|(k, v)| cfn::Parameter::builder().parameter_key(k).parameter_value(v).build()).collect())
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

/// A reason as the engine wants it: None rather than empty.
fn reason(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn summary(stack: &cfn::Stack) -> StackSummary {
    StackSummary {
        id: text(stack.stack_id()),
        name: text(stack.stack_name()),
        status: Status::parse(stack.stack_status().map(|s| s.as_str()).unwrap_or_default()),
        reason: reason(stack.stack_status_reason()),
        outputs: stack.outputs().iter().map(|o| (text(o.output_key()), text(o.output_value()))).collect(),
        parameters: stack.parameters().iter().map(|p| (text(p.parameter_key()), text(p.parameter_value()))).collect(),
        tags: stack.tags().iter().map(|t| (text(t.key()), text(t.value()))).collect(),
    }
}

fn event(e: &cfn::StackEvent) -> StackEvent {
    StackEvent {
        id: text(e.event_id()),
        stack_id: text(e.stack_id()),
        stack_name: text(e.stack_name()),
        logical_id: text(e.logical_resource_id()),
        physical_id: text(e.physical_resource_id()),
        resource_type: text(e.resource_type()),
        timestamp: e.timestamp().map(millis).unwrap_or_default(),
        status: Status::parse(e.resource_status().map(|s| s.as_str()).unwrap_or_default()),
        reason: reason(e.resource_status_reason()),
    }
}

fn resource_change(c: &cfn::ResourceChange) -> ResourceChange {
    ResourceChange {
        action: c.action().map(|a| a.as_str().to_string()).unwrap_or_default(),
        logical_id: text(c.logical_resource_id()),
        physical_id: reason(c.physical_resource_id()),
        resource_type: text(c.resource_type()),
        replacement: c.replacement().map(|r| r.as_str().to_string()),
        scope: c.scope().iter().map(|s| s.as_str().to_string()).collect(),
        nested_change_set: reason(c.change_set_id()),
        details: c.details().iter().map(change_detail).collect(),
    }
}

fn change_detail(d: &cfn::ResourceChangeDetail) -> ChangeDetail {
    let target = d.target();
    ChangeDetail {
        attribute: target.and_then(|t| t.attribute()).map(|a| a.as_str().to_string()).unwrap_or_default(),
        name: target.and_then(|t| reason(t.name())),
        requires_recreation: target.and_then(|t| t.requires_recreation()).map(|r| r.as_str().to_string()),
        evaluation: d.evaluation().map(|e| e.as_str().to_string()),
        change_source: d.change_source().map(|c| c.as_str().to_string()),
        causing_entity: reason(d.causing_entity()),
    }
}

/// HeadObject's answer to "is it there?": a 404, or the 403 S3 gives a
/// role without `s3:ListBucket` for a key that does not exist, is "no".
/// (S3 User Guide, HeadObject: "If you don't have the s3:ListBucket
/// permission, Amazon S3 returns an HTTP status code 403 Forbidden error".)
fn head_object_answer(e: CloudError) -> CloudResult<bool> {
    match e.kind {
        ErrorKind::NotFound | ErrorKind::AccessDenied => Ok(false),
        _ => Err(e),
    }
}

impl Stacks for AwsCloud {
    async fn describe_stack(&self, name_or_id: &str) -> CloudResult<Option<StackSummary>> {
        let out = match self.cloudformation.describe_stacks().stack_name(name_or_id).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = cloud_error(e);
                return if e.kind == ErrorKind::NotFound { Ok(None) } else { Err(e) };
            }
        };
        // By id, a deleted stack is still described (DELETE_COMPLETE) for a while.
        Ok(out
            .stacks()
            .iter()
            .find(|s| s.stack_status() != Some(&StackStatus::DeleteComplete))
            .map(summary))
    }

    async fn stack_events(&self, stack_id: &str, next_token: Option<&str>) -> CloudResult<EventPage> {
        // Exactly one call: the engine pages itself.
        let out = self
            .cloudformation
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(next_token.map(str::to_string))
            .send()
            .await
            .map_err(cloud_error)?;
        Ok(EventPage {
            events: out.stack_events().iter().map(event).collect(),
            next_token: reason(out.next_token()),
        })
    }

    async fn stack_resources(&self, stack_id: &str) -> CloudResult<Vec<StackResource>> {
        // Every page, through the SDK's paginator.
        let summaries: Vec<cfn::StackResourceSummary> = self
            .cloudformation
            .list_stack_resources()
            .stack_name(stack_id)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(cloud_error)?;
        Ok(summaries
            .iter()
            .map(|r| StackResource {
                logical_id: text(r.logical_resource_id()),
                physical_id: reason(r.physical_resource_id()),
                resource_type: text(r.resource_type()),
                status: Status::parse(r.resource_status().map(|s| s.as_str()).unwrap_or_default()),
            })
            .collect())
    }

    async fn create_stack(&self, request: &CreateStack) -> CloudResult<String> {
        let out = self
            .cloudformation
            .create_stack()
            .stack_name(&request.name)
            .template_body(&request.template_body)
            .set_tags(tags(&request.tags))
            .capabilities(Capability::CapabilityIam)
            .client_request_token(&request.token)
            .send()
            .await
            .map_err(cloud_error)?;
        out.stack_id().map(str::to_string).ok_or_else(|| missing("stack id (CreateStack)"))
    }

    async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<String> {
        let kind = match request.kind {
            ChangeSetKind::Create => ChangeSetType::Create,
            ChangeSetKind::Update => ChangeSetType::Update,
        };
        let mut call = self
            .cloudformation
            .create_change_set()
            .stack_name(&request.stack_name)
            .change_set_name(&request.change_set_name)
            .change_set_type(kind)
            .template_url(&request.template_url)
            .include_nested_stacks(true)
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityAutoExpand)
            .set_parameters(parameters(&request.parameters))
            .set_tags(tags(&request.tags))
            .client_token(&request.client_token)
            .set_role_arn(request.role_arn.clone());
        if !request.description.is_empty() {
            call = call.description(&request.description);
        }
        let out = call.send().await.map_err(cloud_error)?;
        out.id().map(str::to_string).ok_or_else(|| missing("change set id (CreateChangeSet)"))
    }

    async fn describe_change_set(&self, id: &str) -> CloudResult<ChangeSet> {
        let mut token: Option<String> = None;
        let mut change_set: Option<ChangeSet> = None;
        loop {
            let out = self
                .cloudformation
                .describe_change_set()
                .change_set_name(id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(cloud_error)?;
            let changes = out.changes().iter().filter_map(|c| c.resource_change()).map(resource_change);
            match &mut change_set {
                Some(cs) => cs.changes.extend(changes),
                None => {
                    change_set = Some(ChangeSet {
                        id: out.change_set_id().unwrap_or(id).to_string(),
                        stack_id: text(out.stack_id()),
                        status: out.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                        status_reason: reason(out.status_reason()),
                        changes: changes.collect(),
                    })
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        change_set.ok_or_else(|| missing("change set (DescribeChangeSet)"))
    }

    async fn execute_change_set(&self, request: &Execute) -> CloudResult<()> {
        self.cloudformation
            .execute_change_set()
            .change_set_name(&request.change_set_id)
            .disable_rollback(request.disable_rollback)
            .client_request_token(&request.token)
            .send()
            .await
            .map_err(cloud_error)?;
        Ok(())
    }

    async fn delete_change_set(&self, id: &str) -> CloudResult<()> {
        self.cloudformation.delete_change_set().change_set_name(id).send().await.map_err(cloud_error)?;
        Ok(())
    }

    async fn delete_stack(&self, request: &DeleteStack) -> CloudResult<()> {
        self.cloudformation
            .delete_stack()
            .stack_name(&request.stack_id)
            .client_request_token(&request.token)
            .set_role_arn(request.role_arn.clone())
            .send()
            .await
            .map_err(cloud_error)?;
        Ok(())
    }

    async fn continue_update_rollback(&self, request: &ContinueRollback) -> CloudResult<()> {
        self.cloudformation
            .continue_update_rollback()
            .stack_name(&request.stack_id)
            .set_resources_to_skip((!request.skip.is_empty()).then(|| request.skip.clone()))
            .client_request_token(&request.token)
            .set_role_arn(request.role_arn.clone())
            .send()
            .await
            .map_err(cloud_error)?;
        Ok(())
    }

    async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) => head_object_answer(cloud_error(e)),
        }
    }

    async fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> CloudResult<()> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .map_err(cloud_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forbidden_head_is_a_missing_object() {
        let answer = |code: &str, status: u16| head_object_answer(CloudError::new(crate::aws::errors::classify(code, "", Some(status)), code, ""));
        assert_eq!(answer("NotFound", 404), Ok(false));
        assert_eq!(answer("", 403), Ok(false), "a role without s3:ListBucket is told 403 for a missing key");
        assert_eq!(answer("Forbidden", 403), Ok(false));
        assert!(answer("", 500).is_err());
        assert!(answer("SlowDown", 503).is_err());
    }
}
