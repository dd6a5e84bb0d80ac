//! CloudFormation, and the S3 bucket templates are staged in.

use std::collections::BTreeMap;

use pypictl::engine::cloud::{CloudResult, Stacks};
use pypictl::engine::model::*;
use tokio::time::Instant;

use crate::script::parse_detail;
use crate::{ScriptedCloud, ACCOUNT, REGION};

const PAGE_SIZE: usize = 100;

impl Stacks for ScriptedCloud {
    async fn describe_stack(&self, name_or_id: &str) -> CloudResult<Option<StackSummary>> {
        self.call("DescribeStacks", true)?;
        if name_or_id == pypictl_stacks::staging::STACK_NAME {
            let exists = self.state.borrow().staging_exists;
            return Ok(exists.then(|| StackSummary {
                id: format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/pypictl-staging/1"),
                name: name_or_id.into(),
                status: "CREATE_COMPLETE".into(),
                reason: None,
                outputs: vec![("BucketName".into(), "pypictl-staging-bucket".into())],
                parameters: vec![],
                tags: vec![],
            }));
        }
        if self.label_of(name_or_id) != "root" {
            return Ok(None);
        }
        let Some((status, reason)) = self.root_status() else { return Ok(None) };
        if status == Status::DeleteComplete {
            return Ok(None);
        }
        let mut outputs: Vec<(String, String)> = self.script.initial.as_ref().map(|i| i.outputs.clone().into_iter().collect()).unwrap_or_default();
        for run in self.state.borrow().running.iter() {
            outputs.extend(run.outputs.clone());
        }
        let tags = self.script.initial.as_ref().map(|i| i.tags.clone().into_iter().collect()).unwrap_or_default();
        Ok(Some(StackSummary { id: self.stack_id("root"), name: self.script.stack_name.clone(), status, reason, outputs, parameters: vec![], tags }))
    }

    async fn stack_events(&self, stack_id: &str, next_token: Option<&str>) -> CloudResult<EventPage> {
        self.call("DescribeStackEvents", true)?;
        if self.script.hang.get("DescribeStackEvents").is_some_and(|from| self.count("DescribeStackEvents") >= *from) {
            std::future::pending::<()>().await;
        }
        if next_token.is_some() {
            *self.calls.borrow_mut().entry("DescribeStackEvents(next page)").or_default() += 1;
        }
        let mut events = self.events_of(&self.label_of(stack_id));
        events.reverse();
        let start: usize = next_token.map(|t| t.parse().expect("token")).unwrap_or(0);
        let end = (start + PAGE_SIZE).min(events.len());
        let next = (end < events.len()).then(|| end.to_string());
        Ok(EventPage { events: events[start..end].to_vec(), next_token: next })
    }

    async fn stack_resources(&self, stack_id: &str) -> CloudResult<Vec<StackResource>> {
        self.call("ListStackResources", true)?;
        let label = self.label_of(stack_id);
        let mut latest: BTreeMap<String, StackResource> = BTreeMap::new();
        for line in self.script.resources.get(&label).into_iter().flatten() {
            let p: Vec<&str> = line.split_whitespace().collect();
            let physical = if p[1] == "AWS::CloudFormation::Stack" { self.stack_id(p[0]) } else { p.get(3).unwrap_or(&"").to_string() };
            latest.insert(p[0].into(), StackResource { logical_id: p[0].into(), physical_id: Some(physical), resource_type: p[1].into(), status: p[2].into() });
        }
        for e in self.events_of(&label) {
            if e.is_about_stack() || e.id.starts_with("history-") {
                continue;
            }
            latest.insert(e.logical_id.clone(), StackResource { logical_id: e.logical_id, physical_id: Some(e.physical_id), resource_type: e.resource_type, status: e.status });
        }
        Ok(latest.into_values().collect())
    }

    async fn create_stack(&self, request: &CreateStack) -> CloudResult<String> {
        self.call("CreateStack", false)?;
        self.log.borrow_mut().push(format!("CreateStack {}", request.name));
        if request.name == pypictl_stacks::staging::STACK_NAME {
            self.state.borrow_mut().staging_exists = true;
        }
        Ok(format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/1", request.name))
    }

    async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<String> {
        self.call("CreateChangeSet", false)?;
        let params: Vec<String> = request.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let role = request.role_arn.as_deref().map(|r| format!(" role={r}")).unwrap_or_default();
        self.log.borrow_mut().push(format!("CreateChangeSet {:?} {} {}{role}", request.kind, request.template_url, params.join(",")));
        let mut st = self.state.borrow_mut();
        st.change_set_created = true;
        st.review_deleted = None;
        Ok("cs-root".into())
    }

    async fn describe_change_set(&self, id: &str) -> CloudResult<ChangeSet> {
        self.call("DescribeChangeSet", true)?;
        let script = self.script.change_set.clone().unwrap_or_default();
        let parsed: Vec<(String, ResourceChange)> = script
            .changes
            .iter()
            .map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                (
                    p[0].to_string(),
                    ResourceChange {
                        action: p[1].into(),
                        logical_id: p[2].into(),
                        physical_id: None,
                        resource_type: p[3].into(),
                        replacement: p.get(4).map(|s| s.to_string()),
                        scope: vec!["Properties".into()],
                        nested_change_set: None,
                        details: p.iter().skip(5).map(|d| parse_detail(d)).collect(),
                    },
                )
            })
            .collect();
        let label = id.strip_prefix("cs-").unwrap_or("root");
        if let Some(reason) = script.nested_failures.get(label) {
            return Ok(ChangeSet { id: id.into(), stack_id: self.stack_id(label), status: "FAILED".into(), status_reason: Some(reason.clone()), changes: vec![] });
        }
        if label == "root" {
            if let Some(nested) = script.nested_failures.keys().next() {
                let reason = format!("Nested change set cs-{nested} was not successfully created: Currently in FAILED.");
                return Ok(ChangeSet { id: id.into(), stack_id: self.stack_id("root"), status: "FAILED".into(), status_reason: Some(reason), changes: vec![] });
            }
        }
        let mut changes: Vec<ResourceChange> = parsed.iter().filter(|(s, _)| s == label).map(|(_, c)| c.clone()).collect();
        if label == "root" {
            let mut nested: Vec<&String> = parsed.iter().map(|(s, _)| s).filter(|s| *s != "root").collect();
            nested.dedup();
            for n in nested {
                let action = if self.script.initial.is_some() { "Modify" } else { "Add" };
                changes.push(ResourceChange {
                    action: action.into(),
                    logical_id: n.clone(),
                    physical_id: None,
                    resource_type: "AWS::CloudFormation::Stack".into(),
                    replacement: (action == "Modify").then(|| "False".into()),
                    scope: vec!["Properties".into()],
                    nested_change_set: Some(format!("cs-{n}")),
                    details: vec![],
                });
            }
        }
        Ok(ChangeSet { id: id.into(), stack_id: self.stack_id("root"), status: script.status, status_reason: script.reason, changes })
    }

    async fn execute_change_set(&self, request: &Execute) -> CloudResult<()> {
        self.call("ExecuteChangeSet", false)?;
        if self.retry_of_lost("ExecuteChangeSet", &request.token)? {
            return Ok(());
        }
        self.log.borrow_mut().push(format!("ExecuteChangeSet {} disable_rollback={}", request.change_set_id, request.disable_rollback));
        let op = self.script.operations.get("execute").cloned().expect("the script has an execute timeline");
        self.start("execute", op);
        self.lose_answer("ExecuteChangeSet", &request.token)
    }

    async fn delete_change_set(&self, id: &str) -> CloudResult<()> {
        self.call("DeleteChangeSet", false)?;
        self.log.borrow_mut().push(format!("DeleteChangeSet {id}"));
        Ok(())
    }

    async fn delete_stack(&self, request: &DeleteStack) -> CloudResult<()> {
        self.call("DeleteStack", false)?;
        if self.retry_of_lost("DeleteStack", &request.token)? {
            return Ok(());
        }
        let role = request.role_arn.as_deref().map(|r| format!(" role={r}")).unwrap_or_default();
        self.log.borrow_mut().push(format!("DeleteStack {}{role}", self.label_of(&request.stack_id)));
        if self.root_status().is_some_and(|(s, _)| s == Status::ReviewInProgress) {
            self.state.borrow_mut().review_deleted = Some(Instant::now());
            return self.lose_answer("DeleteStack", &request.token);
        }
        let op = self.script.operations.get("delete_stack").cloned().expect("the script has a delete_stack timeline");
        self.start("delete", op);
        self.lose_answer("DeleteStack", &request.token)
    }

    async fn continue_update_rollback(&self, request: &ContinueRollback) -> CloudResult<()> {
        self.call("ContinueUpdateRollback", false)?;
        if self.retry_of_lost("ContinueUpdateRollback", &request.token)? {
            return Ok(());
        }
        self.log.borrow_mut().push(format!("ContinueUpdateRollback {} skip=[{}]", self.label_of(&request.stack_id), request.skip.join(",")));
        // A skip has its own timeline when the script gives one.
        let timeline = if request.skip.is_empty() { "continue_update_rollback" } else { "continue_update_rollback_skipping" };
        let op = self.script.operations.get(timeline).or_else(|| self.script.operations.get("continue_update_rollback")).cloned().expect("the script has a continue_update_rollback timeline");
        self.start("continue", op);
        self.lose_answer("ContinueUpdateRollback", &request.token)
    }

    async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool> {
        self.call("HeadObject", false)?;
        Ok(self.state.borrow().objects.contains_key(&(bucket.to_string(), key.to_string())))
    }

    async fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> CloudResult<()> {
        self.call("PutObject", false)?;
        self.log.borrow_mut().push(format!("PutObject {key}"));
        self.state.borrow_mut().objects.insert((bucket.to_string(), key.to_string()), body.to_vec());
        Ok(())
    }
}
