//! Stack operations that progress in the background, as on AWS: the
//! compiled binary against moto's server on 127.0.0.1 in the harness's
//! asynchronous mode (scripts/moto/pypictl_moto.py, `PYPICTL_MOTO_ASYNC=1`:
//! ExecuteChangeSet, DeleteStack and ContinueUpdateRollback return at once,
//! each resource takes `PYPICTL_MOTO_RESOURCE_SECONDS`, events appear over
//! time), with faults injected at run time (`POST /_pypictl/faults`):
//! - a first deploy that succeeds, watched while it progresses;
//! - a first deploy whose resource fails: the root deletes the nested stacks
//!   that had completed, one after another;
//! - an update that fails and rolls back to UPDATE_ROLLBACK_COMPLETE;
//! - an update whose rollback fails (UPDATE_ROLLBACK_FAILED), then continued
//!   with `deploy --rollback-skip-failed`;
//! - `deploy --no-rollback`: CREATE_FAILED / UPDATE_FAILED, then a plain
//!   deploy retries what failed;
//! - `destroy`.
//!
//! Each test bounds its waits: pypictl is killed after `COMMAND_TIMEOUT`, and
//! the harness's own checks poll for at most `SETTLE_TIMEOUT_SECONDS`.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{events, find_from, position, stderr, stdout, Moto};
use serde_json::{json, Value};

/// Seconds each resource's creation, update or deletion takes in the harness.
const RESOURCE_SECONDS: &str = "0.05";
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const SETTLE_TIMEOUT_SECONDS: u32 = 60;

/// The harness in async mode, with `env` for the server.
fn start(resource_seconds: &str, env: &[(&str, &str)]) -> Moto {
    let mut all = vec![("PYPICTL_MOTO_ASYNC", "1"), ("PYPICTL_MOTO_RESOURCE_SECONDS", resource_seconds)];
    all.extend_from_slice(env);
    Moto::start_with_env(&all)
}

/// Replaces the harness's fault sets (`POST /_pypictl/faults`) and returns
/// what it answers.
fn faults(moto: &Moto, sets: Value) -> Value {
    moto.boto(&format!(
        "import urllib.request\n\
         req = urllib.request.Request(cfn.meta.endpoint_url + '/_pypictl/faults', data={body:?}.encode(), method='POST', headers={{'Content-Type': 'application/json'}})\n\
         out = json.loads(urllib.request.urlopen(req, timeout=10).read())",
        body = sets.to_string()
    ))
}

/// pypictl `args` with `-c config`, bounded by [`COMMAND_TIMEOUT`]: exit
/// code, stdout, stderr.
fn run(moto: &Moto, args: &[&str], config: &Path) -> (Option<i32>, String, String) {
    let a = moto.pypictl().timeout(COMMAND_TIMEOUT).args(args).arg("-c").arg(config).assert();
    (a.get_output().status.code(), stdout(&a), stderr(&a))
}

/// A successful `deploy` (fails the test with everything to read otherwise).
fn deploy_ok(moto: &Moto, config: &Path) -> String {
    let (code, out, err) = run(moto, &["--yes", "deploy", "--progress", "events"], config);
    assert_eq!(code, Some(0), "deploy failed:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    out
}

/// Clears the faults; a plain deploy then retries what failed and
/// completes. Its events.
fn fault_cleared_deploy_completes(moto: &Moto, config: &Path) -> Vec<(String, String, String)> {
    faults(moto, json!({}));
    let (code, out, err) = run(moto, &["--yes", "deploy", "--progress", "events"], config);
    assert_eq!(code, Some(0), "the deploy retries and completes:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    assert!(out.contains("✔ pypi: UPDATE_COMPLETE"), "{out}");
    events(&out)
}

/// The light example with the seeded account's ids.
fn light(moto: &Moto, dir: &Path) -> PathBuf {
    let seed = moto.seed();
    moto.config(&seed, "light", dir)
}

/// A change of two nested stacks: a new image tag (the Service stack's task
/// definition) and a new instance type (the Compute stack's launch template,
/// updated first: the Service stack depends on the Compute stack).
fn change_image_and_instance_type(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("instance_type = \"t3.small\"") && text.contains("[compute]"), "{text}");
    let changed = text
        .replace("[compute]", "[service]\nimage_tag = \"v2.4.1\"\n\n[compute]")
        .replace("instance_type = \"t3.small\"", "instance_type = \"t3.medium\"");
    std::fs::write(config, changed).unwrap();
}

/// The events shown for one stack label, in order. Across stacks the lines
/// come in the order the watcher read them (a stack at a time), not in the
/// order CloudFormation emitted them: compare positions within one stack.
fn of_stack(events: &[(String, String, String)], stack: &str) -> Vec<(String, String, String)> {
    events.iter().filter(|(s, _, _)| s == stack).cloned().collect()
}

/// The root stack as DescribeStacks gives it (status, reason, DisableRollback).
fn root(moto: &Moto) -> Value {
    moto.boto("s = cfn.describe_stacks(StackName='pypi')['Stacks'][0]\n\
         out = {'status': s['StackStatus'], 'reason': s.get('StackStatusReason'), 'disable_rollback': s.get('DisableRollback')}")
}

/// Seconds between the root stack's first event of its latest operation
/// (the last `*_IN_PROGRESS` with reason "User Initiated") and its latest
/// event, from CloudFormation's own timestamps.
fn root_operation_seconds(moto: &Moto) -> f64 {
    let v = moto.boto("events = []\n\
         kw = {}\n\
         while True:\n\
         \x20   page = cfn.describe_stack_events(StackName='pypi', **kw)\n\
         \x20   events += page['StackEvents']\n\
         \x20   if not page.get('NextToken'): break\n\
         \x20   kw = {'NextToken': page['NextToken']}\n\
         own = [e for e in events if e['LogicalResourceId'] == e['StackName']]\n\
         start = next(e for e in own if e.get('ResourceStatusReason') == 'User Initiated')\n\
         out = (own[0]['Timestamp'] - start['Timestamp']).total_seconds()");
    v.as_f64().unwrap()
}

/// The harness itself: CreateStack and DeleteStack return while the stack is
/// in progress, DescribeStackResources lists what exists so far, the
/// operation completes a while later; the faults route reads and replaces
/// the fault sets, and refuses what it cannot read.
#[test]
fn operations_return_before_they_complete() {
    let moto = start("0.2", &[("PYPICTL_MOTO_FAIL_RESOURCES", "NoSuchResource")]);
    assert_eq!(
        faults(&moto, json!({"fail_update": ["Service"], "fail_rollback": ["pypi-Service-1ABC.TaskDefinition"]})),
        json!({"fail_create": [], "fail_update": ["Service"], "fail_rollback": ["pypi-Service-1ABC.TaskDefinition"]}),
        "the posted sets replace all three, fail_create (from PYPICTL_MOTO_FAIL_RESOURCES) included"
    );
    let v = moto.boto(&format!(
        "import time, urllib.request, urllib.error\n\
         base = cfn.meta.endpoint_url + '/_pypictl/faults'\n\
         read = json.loads(urllib.request.urlopen(base, timeout=10).read())\n\
         try:\n\
         \x20   urllib.request.urlopen(urllib.request.Request(base, data=b'{{\"fail_sometimes\": [\"X\"]}}', method='POST'), timeout=10)\n\
         \x20   refused = None\n\
         except urllib.error.HTTPError as e:\n\
         \x20   refused = e.code\n\
         urllib.request.urlopen(urllib.request.Request(base, data=b'{{}}', method='POST'), timeout=10)\n\
         template = {{'Resources': {{f'Topic{{i}}': {{'Type': 'AWS::SNS::Topic', 'Properties': {{'TopicName': f'async-{{i}}'}}}} for i in range(8)}}}}\n\
         sid = cfn.create_stack(StackName='async', TemplateBody=json.dumps(template), ClientRequestToken='create-1')['StackId']\n\
         first = cfn.describe_stacks(StackName=sid)['Stacks'][0]['StackStatus']\n\
         statuses, listed = [first], []\n\
         deadline = time.time() + {timeout}\n\
         while statuses[-1].endswith('_IN_PROGRESS') and time.time() < deadline:\n\
         \x20   listed.append(len(cfn.describe_stack_resources(StackName=sid)['StackResources']))\n\
         \x20   time.sleep(0.1)\n\
         \x20   statuses.append(cfn.describe_stacks(StackName=sid)['Stacks'][0]['StackStatus'])\n\
         tokens = sorted({{e.get('ClientRequestToken') or '' for e in cfn.describe_stack_events(StackName=sid)['StackEvents']}})\n\
         cfn.delete_stack(StackName=sid, ClientRequestToken='delete-1')\n\
         cfn.delete_stack(StackName=sid, ClientRequestToken='delete-1')\n\
         deleting = cfn.describe_stacks(StackName=sid)['Stacks'][0]['StackStatus']\n\
         final = deleting\n\
         while final.endswith('_IN_PROGRESS') and time.time() < deadline:\n\
         \x20   time.sleep(0.1)\n\
         \x20   final = cfn.describe_stacks(StackName=sid)['Stacks'][0]['StackStatus']\n\
         out = {{'read': read, 'refused': refused, 'first': first, 'created': statuses[-1], 'polls': len(statuses), 'listed': listed, 'tokens': tokens, 'deleting': deleting, 'final': final}}",
        timeout = SETTLE_TIMEOUT_SECONDS
    ));
    assert_eq!(v["read"]["fail_update"], json!(["Service"]), "{v}");
    assert_eq!(v["refused"], 400, "an unknown fault set is refused: {v}");
    assert_eq!(v["first"], "CREATE_IN_PROGRESS", "CreateStack returned before the stack was created: {v}");
    assert_eq!(v["created"], "CREATE_COMPLETE", "{v}");
    assert!(v["polls"].as_u64().unwrap() >= 5, "8 resources of 0.2 s take over a second: {v}");
    let listed: Vec<u64> = v["listed"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert!(listed.first() < listed.last() && *listed.last().unwrap() <= 8, "resources appear one by one: {v}");
    assert!(v["tokens"].as_array().unwrap().contains(&json!("create-1")), "the events carry the request's token: {v}");
    assert_eq!(v["deleting"], "DELETE_IN_PROGRESS", "DeleteStack returned before the stack was deleted, and a retry with the same token is accepted: {v}");
    assert_eq!(v["final"], "DELETE_COMPLETE", "{v}");
}

/// (a) A first deploy, watched while it progresses: IN_PROGRESS lines come
/// before the COMPLETE lines, in the root and in the nested stacks, and
/// `deploy` returns only once the stack is complete.
#[test]
fn first_deploy_progresses_in_the_background() {
    let moto = start("0.1", &[]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());

    let out = deploy_ok(&moto, &config);
    assert!(out.contains("✔ pypi: CREATE_COMPLETE"), "{out}");
    assert_eq!(root(&moto)["status"], "CREATE_COMPLETE", "deploy returned once the stack was complete");

    let ev = events(&out);
    let root_events = of_stack(&ev, "pypi");
    assert_eq!(position(&ev, "pypi", "pypi", "CREATE_IN_PROGRESS"), 0, "the root's CREATE_IN_PROGRESS comes first:\n{out}");
    assert_eq!(position(&root_events, "pypi", "pypi", "CREATE_COMPLETE"), root_events.len() - 1, "the root's CREATE_COMPLETE comes last:\n{out}");
    for nested in ["Encryption", "Network", "Storage", "Compute", "Service", "Monitoring"] {
        let begins = position(&ev, "pypi", nested, "CREATE_IN_PROGRESS");
        assert!(begins < position(&ev, "pypi", nested, "CREATE_COMPLETE"), "{out}");
        let own = of_stack(&ev, nested);
        assert!(own.len() > 2, "{nested}'s own events are shown:\n{out}");
        assert!(own[0].2 == "CREATE_IN_PROGRESS" && own.last().unwrap().2 == "CREATE_COMPLETE" && own[0].1 == own.last().unwrap().1, "{nested}: {own:?}");
    }
    let fs_begins = position(&ev, "Storage", "FileSystem", "CREATE_IN_PROGRESS");
    assert!(fs_begins < position(&ev, "Storage", "FileSystem", "CREATE_COMPLETE"), "{out}");

    // In CloudFormation's own timestamps: each nested stack ran between its
    // resource's start and completion in the root, and time passed (49
    // resources of 0.1 s): the creation progressed in the background.
    let nesting = moto.boto("def all_events(sid):\n\
         \x20   events, kw = [], {}\n\
         \x20   while True:\n\
         \x20       page = cfn.describe_stack_events(StackName=sid, **kw)\n\
         \x20       events += page['StackEvents']\n\
         \x20       if not page.get('NextToken'): return events\n\
         \x20       kw = {'NextToken': page['NextToken']}\n\
         root = all_events('pypi')\n\
         out = {}\n\
         for r in cfn.describe_stack_resources(StackName='pypi')['StackResources']:\n\
         \x20   mine = [e for e in root if e['LogicalResourceId'] == r['LogicalResourceId']]\n\
         \x20   started = min(e['Timestamp'] for e in mine if e['ResourceStatus'] == 'CREATE_IN_PROGRESS')\n\
         \x20   done = max(e['Timestamp'] for e in mine if e['ResourceStatus'] == 'CREATE_COMPLETE')\n\
         \x20   nested = [e['Timestamp'] for e in all_events(r['PhysicalResourceId'])]\n\
         \x20   out[r['LogicalResourceId']] = [started <= min(nested), max(nested) <= done]");
    assert_eq!(nesting.as_object().unwrap().len(), 9, "{nesting}");
    assert!(nesting.as_object().unwrap().values().all(|v| v == &json!([true, true])), "{nesting}");
    let seconds = root_operation_seconds(&moto);
    assert!(seconds >= 3.0, "the creation took {seconds} s: it did not progress in the background");
}

/// (b) A first deploy whose Service stack fails: the nested stack rolls back,
/// then the root deletes the nested stacks that had completed, one after
/// another, and ends ROLLBACK_COMPLETE; the root cause names the resource.
#[test]
fn failed_first_deploy_deletes_the_completed_nested_stacks() {
    let moto = start(RESOURCE_SECONDS, &[("PYPICTL_MOTO_FAIL_RESOURCES", "ScalableTarget")]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());

    let (code, out, err) = run(&moto, &["--yes", "deploy", "--progress", "events"], &config);
    assert_eq!(code, Some(1), "the deploy fails:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains("✘ pypi: ROLLBACK_COMPLETE"), "{all}");
    assert!(all.contains("Root cause: Service › ScalableTarget"), "{all}");
    assert!(all.contains("Injected failure"), "the handler's message is shown:\n{all}");

    let ev = events(&out);
    // The Service stack: the resource fails, the stack rolls back on its own.
    let service = of_stack(&ev, "Service");
    let failed = position(&service, "Service", "ScalableTarget", "CREATE_FAILED");
    let own_rollback = service.iter().position(|(_, l, st)| l.starts_with("pypi-Service-") && st == "ROLLBACK_IN_PROGRESS");
    assert!(own_rollback.is_some_and(|i| failed < i), "{out}");
    assert!(find_from(&service, failed, "Service", "TaskDefinition", "DELETE_COMPLETE").is_some(), "{out}");
    // Then the root: the nested stack resource fails, the root rolls back.
    let root_failed = position(&ev, "pypi", "Service", "CREATE_FAILED");
    let rollback = position(&ev, "pypi", "pypi", "ROLLBACK_IN_PROGRESS");
    assert!(root_failed < rollback, "{out}");
    // The nested stacks that had completed: deleted by the root's rollback,
    // one after another (the Service stack, which failed, first).
    let mut deleted = Vec::new();
    for nested in ["Service", "Compute", "LoadBalancer", "Credentials", "Storage", "Network", "Encryption"] {
        let begins = find_from(&ev, rollback, "pypi", nested, "DELETE_IN_PROGRESS").unwrap_or_else(|| panic!("{nested} is deleted by the rollback:\n{out}"));
        let ends = find_from(&ev, begins, "pypi", nested, "DELETE_COMPLETE").unwrap_or_else(|| panic!("{nested} DELETE_COMPLETE:\n{out}"));
        deleted.push((nested, begins, ends));
    }
    let complete = position(&ev, "pypi", "pypi", "ROLLBACK_COMPLETE");
    assert!(deleted.iter().all(|(_, _, ends)| *ends < complete), "{out}");
    assert!(position(&ev, "pypi", "Service", "DELETE_COMPLETE") < position(&ev, "pypi", "Compute", "DELETE_IN_PROGRESS"), "{out}");
    assert!(position(&ev, "pypi", "Storage", "DELETE_COMPLETE") < position(&ev, "pypi", "Encryption", "DELETE_IN_PROGRESS"), "the key's stack goes after the stacks that use it:\n{out}");
    assert!(find_from(&ev, 0, "pypi", "Backup", "CREATE_IN_PROGRESS").is_none(), "the stacks after the failure were never started:\n{out}");
    assert_eq!(root(&moto)["status"], "ROLLBACK_COMPLETE");
    let nested = moto.boto("root = cfn.describe_stacks(StackName='pypi')['Stacks'][0]['StackId']\n\
         out = sorted({s['StackStatus'] for s in cfn.list_stacks()['StackSummaries'] if s.get('RootId') == root})");
    assert_eq!(nested, json!(["DELETE_COMPLETE"]), "every nested stack is gone");
}

/// (c) An update of two nested stacks whose second fails: the root rolls back
/// both (the Compute stack, which had completed, included) and ends
/// UPDATE_ROLLBACK_COMPLETE with the launch template's previous instance
/// type; the next deploy, the fault gone, succeeds.
#[test]
fn failed_update_rolls_back_to_the_previous_state() {
    let moto = start(RESOURCE_SECONDS, &[]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());
    deploy_ok(&moto, &config);

    faults(&moto, json!({"fail_update": ["TaskDefinition"]}));
    change_image_and_instance_type(&config);
    let (code, out, err) = run(&moto, &["--yes", "deploy", "--progress", "events"], &config);
    assert_eq!(code, Some(1), "the update fails:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains("✘ pypi: UPDATE_ROLLBACK_COMPLETE"), "{all}");
    assert!(all.contains("Root cause: Service › TaskDefinition"), "{all}");

    let ev = events(&out);
    // The Service stack: the task definition fails, the stack rolls back, the task definition is put back.
    let service = of_stack(&ev, "Service");
    let failed = position(&service, "Service", "TaskDefinition", "UPDATE_FAILED");
    let own_rollback = service.iter().position(|(_, l, st)| l.starts_with("pypi-Service-") && st == "UPDATE_ROLLBACK_IN_PROGRESS").unwrap_or_else(|| panic!("{out}"));
    assert!(failed < own_rollback && find_from(&service, own_rollback, "Service", "TaskDefinition", "UPDATE_COMPLETE").is_some(), "{out}");
    // The root: Compute completed, then Service failed; both are rolled back.
    let compute_done = position(&ev, "pypi", "Compute", "UPDATE_COMPLETE");
    assert!(compute_done < position(&ev, "pypi", "Service", "UPDATE_FAILED"), "the Compute stack completed before the Service stack failed:\n{out}");
    let rollback = position(&ev, "pypi", "pypi", "UPDATE_ROLLBACK_IN_PROGRESS");
    let service_back = find_from(&ev, rollback, "pypi", "Service", "UPDATE_COMPLETE").unwrap_or_else(|| panic!("the Service stack is rolled back:\n{out}"));
    let compute_back = find_from(&ev, rollback, "pypi", "Compute", "UPDATE_COMPLETE").unwrap_or_else(|| panic!("the Compute stack is rolled back:\n{out}"));
    assert!(find_from(&ev, rollback, "pypi", "Compute", "UPDATE_IN_PROGRESS").unwrap() < compute_back, "{out}");
    assert!(service_back < compute_back, "newest first:\n{out}");
    assert!(compute_back < position(&ev, "pypi", "pypi", "UPDATE_ROLLBACK_COMPLETE"), "{out}");
    assert_eq!(root(&moto)["status"], "UPDATE_ROLLBACK_COMPLETE");
    let launch = moto.boto("lt = ec2.describe_launch_templates()['LaunchTemplates'][0]['LaunchTemplateId']\n\
         out = ec2.describe_launch_template_versions(LaunchTemplateId=lt, Versions=['$Latest'])['LaunchTemplateVersions'][0]['LaunchTemplateData']['InstanceType']");
    assert_eq!(launch, "t3.small", "the rollback put the previous instance type back");

    faults(&moto, json!({}));
    let out = deploy_ok(&moto, &config);
    assert!(out.contains("✔ pypi: UPDATE_COMPLETE"), "{out}");
}

/// (d) An update whose rollback fails in the Service stack: the deploy shows
/// the resource that blocked the rollback and ends UPDATE_ROLLBACK_FAILED; a
/// plain deploy continues the rollback, which fails again on the same
/// resource; `deploy --rollback-skip-failed` continues it skipping that
/// resource (`<NestedStackName>.TaskDefinition`), UPDATE_ROLLBACK_COMPLETE.
#[test]
fn failed_rollback_is_continued_skipping_what_blocks_it() {
    let moto = start(RESOURCE_SECONDS, &[]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());
    deploy_ok(&moto, &config);
    let service_stack = moto.boto("r = cfn.describe_stack_resource(StackName='pypi', LogicalResourceId='Service')['StackResourceDetail']\n\
         out = r['PhysicalResourceId'].split('/')[1]");
    let service_stack = service_stack.as_str().unwrap().to_string();
    assert!(service_stack.starts_with("pypi-Service-"), "{service_stack}");
    let skip_name = format!("{service_stack}.TaskDefinition");

    faults(&moto, json!({"fail_update": ["TaskDefinition"], "fail_rollback": ["TaskDefinition"]}));
    change_image_and_instance_type(&config);
    let (code, out, err) = run(&moto, &["--yes", "deploy", "--progress", "events"], &config);
    assert_eq!(code, Some(1), "the update fails:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains("✘ pypi: UPDATE_ROLLBACK_FAILED"), "{all}");
    let ev = events(&out);
    // The blocker: the task definition's UPDATE_FAILED during the Service stack's rollback.
    let nested_rollback = position(&ev, "Service", &service_stack, "UPDATE_ROLLBACK_IN_PROGRESS");
    let blocker = find_from(&ev, nested_rollback, "Service", "TaskDefinition", "UPDATE_FAILED").unwrap_or_else(|| panic!("the blocker is shown:\n{out}"));
    assert!(position(&ev, "Service", &service_stack, "UPDATE_ROLLBACK_FAILED") > blocker, "{out}");
    assert!(out.lines().any(|l| l.contains("TaskDefinition") && l.contains("UPDATE_FAILED") && l.contains("fail_rollback")), "the blocker's reason:\n{out}");
    let rollback = position(&ev, "pypi", "pypi", "UPDATE_ROLLBACK_IN_PROGRESS");
    assert!(find_from(&ev, rollback, "pypi", "Compute", "UPDATE_COMPLETE").is_some(), "the Compute stack is rolled back all the same:\n{out}");
    assert!(find_from(&ev, rollback, "pypi", "Service", "UPDATE_FAILED").is_some(), "{out}");
    assert!(all.contains(&skip_name), "the advice names what --rollback-skip-failed would skip:\n{all}");
    let status = root(&moto);
    assert_eq!(status["status"], "UPDATE_ROLLBACK_FAILED", "{status}");
    assert_eq!(status["reason"], "The following resource(s) failed to update: [Service]. ", "{status}");

    // Continued as is: the task definition fails to roll back again.
    let (code, out, err) = run(&moto, &["--yes", "deploy", "--progress", "events"], &config);
    assert_eq!(code, Some(1), "the rollback fails again:\n{out}\n{err}");
    assert!(format!("{out}{err}").contains("UPDATE_ROLLBACK_FAILED"), "{out}\n{err}");
    assert_eq!(root(&moto)["status"], "UPDATE_ROLLBACK_FAILED");

    // Continued skipping it.
    let (code, out, err) = run(&moto, &["--yes", "deploy", "--rollback-skip-failed", "--progress", "events"], &config);
    assert_eq!(code, Some(0), "the rollback completes:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains(&skip_name), "the skipped resource is named:\n{all}");
    assert!(all.contains("recovered: UPDATE_ROLLBACK_COMPLETE"), "{all}");
    let ev = events(&out);
    let skipped = position(&ev, "Service", "TaskDefinition", "UPDATE_COMPLETE");
    assert!(out.lines().any(|l| l.contains("TaskDefinition") && l.contains("UPDATE_COMPLETE") && l.contains("ResourcesToSkip")), "marked UPDATE_COMPLETE, skipped:\n{out}");
    assert!(skipped < position(&ev, "Service", &service_stack, "UPDATE_ROLLBACK_COMPLETE"), "{out}");
    assert!(position(&ev, "pypi", "Service", "UPDATE_COMPLETE") < position(&ev, "pypi", "pypi", "UPDATE_ROLLBACK_COMPLETE"), "{out}");
    assert_eq!(root(&moto)["status"], "UPDATE_ROLLBACK_COMPLETE");
}

/// (e) `deploy --no-rollback` of a first deploy whose resource fails: the
/// stack ends CREATE_FAILED with what was created kept (nothing deleted);
/// once the fault is gone, a plain deploy (which must, and does, keep
/// rollback disabled on a CREATE_FAILED stack) creates what is missing:
/// UPDATE_COMPLETE.
#[test]
fn no_rollback_create_keeps_what_was_created_then_a_deploy_completes_it() {
    let moto = start(RESOURCE_SECONDS, &[("PYPICTL_MOTO_FAIL_RESOURCES", "ScalableTarget")]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());

    let (code, out, err) = run(&moto, &["--yes", "deploy", "--no-rollback", "--progress", "events"], &config);
    assert_eq!(code, Some(1), "the deploy fails:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains("✘ pypi: CREATE_FAILED"), "{all}");
    assert!(all.contains("Root cause: Service › ScalableTarget"), "{all}");
    assert!(!out.contains("DELETE_") && !out.contains("ROLLBACK"), "nothing is rolled back:\n{out}");
    let ev = events(&out);
    position(&ev, "Service", "ScalableTarget", "CREATE_FAILED");
    position(&ev, "pypi", "Service", "CREATE_FAILED");
    let status = root(&moto);
    assert_eq!(status["status"], "CREATE_FAILED", "{status}");
    assert_eq!(status["disable_rollback"], true, "{status}");
    let kept = moto.boto("root = cfn.describe_stacks(StackName='pypi')['Stacks'][0]['StackId']\n\
         out = sorted((s['StackName'].split('-')[1], s['StackStatus']) for s in cfn.list_stacks()['StackSummaries'] if s.get('RootId') == root)");
    let kept: Vec<(String, String)> = serde_json::from_value(kept).unwrap();
    assert!(kept.contains(&("Service".into(), "CREATE_FAILED".into())), "{kept:?}");
    assert!(kept.contains(&("Compute".into(), "CREATE_COMPLETE".into())), "{kept:?}");
    assert!(!kept.iter().any(|(n, _)| n == "Monitoring"), "never reached: {kept:?}");

    let ev = fault_cleared_deploy_completes(&moto, &config);
    position(&ev, "Service", "ScalableTarget", "CREATE_COMPLETE");
    position(&ev, "pypi", "Monitoring", "CREATE_COMPLETE");
    assert_eq!(root(&moto)["status"], "UPDATE_COMPLETE");
}

/// (e) `deploy --no-rollback` of an update whose resource fails: the stack
/// ends UPDATE_FAILED; once the fault is gone, a plain deploy retries:
/// UPDATE_COMPLETE.
#[test]
fn no_rollback_update_stops_then_a_deploy_completes_it() {
    let moto = start(RESOURCE_SECONDS, &[]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());
    deploy_ok(&moto, &config);

    faults(&moto, json!({"fail_update": ["TaskDefinition"]}));
    change_image_and_instance_type(&config);
    let (code, out, err) = run(&moto, &["--yes", "deploy", "--no-rollback", "--progress", "events"], &config);
    assert_eq!(code, Some(1), "the update fails:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains("✘ pypi: UPDATE_FAILED"), "{all}");
    assert!(!out.contains("ROLLBACK"), "nothing is rolled back:\n{out}");
    let ev = events(&out);
    position(&ev, "Service", "TaskDefinition", "UPDATE_FAILED");
    position(&ev, "pypi", "Compute", "UPDATE_COMPLETE");
    assert_eq!(root(&moto)["status"], "UPDATE_FAILED");

    let ev = fault_cleared_deploy_completes(&moto, &config);
    position(&ev, "Service", "TaskDefinition", "UPDATE_COMPLETE");
    assert_eq!(root(&moto)["status"], "UPDATE_COMPLETE");
}

/// (f) `destroy` in async mode: DeleteStack returns at once, the deletions
/// are watched as they happen, the retained resources are listed as kept,
/// and `destroy` returns once the stack is gone.
#[test]
fn destroy_progresses_in_the_background() {
    let moto = start(RESOURCE_SECONDS, &[]);
    let work = tempfile::tempdir().unwrap();
    let config = light(&moto, work.path());
    deploy_ok(&moto, &config);

    let (code, out, err) = run(&moto, &["--yes", "destroy", "--progress", "events"], &config);
    assert_eq!(code, Some(0), "destroy failed:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    assert!(out.contains("✔ pypi deleted."), "{out}");
    let ev = events(&out);
    let started = position(&ev, "pypi", "pypi", "DELETE_IN_PROGRESS");
    for nested in ["Monitoring", "Service", "Compute", "Storage", "Network", "Encryption"] {
        let begins = position(&ev, "pypi", nested, "DELETE_IN_PROGRESS");
        assert!(started < begins && begins < position(&ev, "pypi", nested, "DELETE_COMPLETE"), "{nested}:\n{out}");
    }
    assert!(position(&ev, "pypi", "Service", "DELETE_COMPLETE") < position(&ev, "pypi", "Compute", "DELETE_IN_PROGRESS"), "{out}");
    let root_events = of_stack(&ev, "pypi");
    assert_eq!(root_events.last().map(|(_, l, st)| (l.as_str(), st.as_str())), Some(("pypi", "DELETE_COMPLETE")), "{out}");
    for nested in ["Service", "Compute", "Storage"] {
        let own = of_stack(&ev, nested);
        assert_eq!(own.last().map(|(_, _, st)| st.as_str()), Some("DELETE_COMPLETE"), "{nested} deleted with its resources:\n{out}");
    }
    for kept in ["AWS::EFS::FileSystem", "AWS::SecretsManager::Secret", "AWS::KMS::Key"] {
        assert!(out.lines().any(|l| l.contains(kept) && l.starts_with("  ")), "{kept} listed as kept:\n{out}");
    }
    let (code, _, err) = run(&moto, &["status"], &config);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}
