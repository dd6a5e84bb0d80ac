//! The progress renderers against one realistic deploy: a create that fails
//! in a nested stack and rolls back. The plain output is compared byte for
//! byte with fixtures/render/plain.txt; the live view is drawn into an
//! in-memory terminal (vt100) and its screen compared with
//! fixtures/render/tty*.txt. A change in output is a reviewed diff:
//! regenerate with `PYPICTL_UPDATE_GOLDEN=1 cargo test --test render` and read
//! the diff before committing it.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressDrawTarget, TermLike};
use pypictl::engine::model::{Millis, ServiceSnapshot, StackEvent, StoppedTask};
use pypictl::engine::progress::{Progress, Sink, WatchedStack};
use pypictl::ui::plain::PlainRenderer;
use pypictl::ui::tty::TtyRenderer;

/// 2025-03-14 09:20:00 UTC.
const T0: Millis = 1_741_944_000_000;
const ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack";
const SERVICE: &str = "pypiserver-development";

// ---------------------------------------------------------------------------
// The deploy

/// Builds the progress stream of a deploy, with CloudFormation's naming.
#[derive(Default)]
struct Script {
    items: Vec<Progress>,
}

fn stack_name(label: &str) -> &'static str {
    match label {
        "pypi" => "pypi",
        "Encryption" => "pypi-Encryption-1J4W3QZ7YH2KD",
        "Network" => "pypi-Network-7TQ2M0X9PLRA",
        "Storage" => "pypi-Storage-1E5N8VBC03KXF",
        "Service" => "pypi-Service-U2Z6R9W1DMH4",
        other => panic!("unknown stack {other}"),
    }
}

fn stack_id(label: &str) -> String {
    let uuid = match label {
        "pypi" => "5c0a2f3e-0104-11f0-9d7e-0affd3a1b2c3",
        "Encryption" => "6d1b3e4f-0104-11f0-8a1c-12b4c5d6e7f8",
        "Network" => "6d1c9a20-0104-11f0-b3f2-0e9d8c7b6a54",
        "Storage" => "9f2e4d61-0104-11f0-a5b6-0c1d2e3f4a5b",
        _ => "9f31c0a2-0104-11f0-87e9-06a5b4c3d2e1",
    };
    format!("{ARN}/{}/{uuid}", stack_name(label))
}

fn at(seconds: i64) -> Millis {
    T0 + seconds * 1000
}

impl Script {
    fn push(&mut self, p: Progress) -> &mut Self {
        self.items.push(p);
        self
    }

    fn step(&mut self, text: &str) -> &mut Self {
        self.push(Progress::Step(text.into()))
    }

    fn stack(&mut self, label: &str, depth: usize, total: usize) -> &mut Self {
        self.push(Progress::Stack(WatchedStack { label: label.into(), depth, total: Some(total) }))
    }

    fn tick(&mut self, seconds: i64) -> &mut Self {
        self.push(Progress::Tick { now: at(seconds) })
    }

    fn tasks(&mut self, desired: u32, running: u32, pending: u32, failed: u32) -> &mut Self {
        let snapshot = ServiceSnapshot {
            desired,
            running,
            pending,
            failed,
            rollout_state: Some("IN_PROGRESS".into()),
            rollout_reason: Some("ECS deployment ecs-svc/4719632185025718394 in progress.".into()),
            deployments: 2,
            primary: Some("ecs-svc/4719632185025718394".into()),
            listed: Vec::new(),
        };
        self.push(Progress::Tasks { service: SERVICE.into(), snapshot })
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        label: &str,
        seconds: i64,
        logical_id: &str,
        physical_id: String,
        resource_type: &str,
        status: &str,
        reason: Option<&str>,
    ) -> &mut Self {
        let event = StackEvent {
            id: format!("{logical_id}-{status}-{}", at(seconds)),
            stack_id: stack_id(label),
            stack_name: stack_name(label).into(),
            logical_id: logical_id.into(),
            physical_id,
            resource_type: resource_type.into(),
            timestamp: at(seconds),
            status: status.into(),
            reason: reason.map(Into::into),
        };
        self.push(Progress::Event { stack: label.into(), event })
    }

    /// An event about stack `label` itself.
    fn own(&mut self, label: &str, seconds: i64, status: &str, reason: Option<&str>) -> &mut Self {
        self.event(label, seconds, stack_name(label), stack_id(label), "AWS::CloudFormation::Stack", status, reason)
    }

    /// An event about a resource of stack `label`.
    fn res(&mut self, label: &str, seconds: i64, logical_id: &str, ty: &str, status: &str, reason: Option<&str>) -> &mut Self {
        let physical = format!("{}-{logical_id}", stack_name(label));
        self.event(label, seconds, logical_id, physical, ty, status, reason)
    }

    /// An event in the root about its nested stack `nested`.
    fn nested(&mut self, seconds: i64, nested: &str, status: &str, reason: Option<&str>) -> &mut Self {
        self.event("pypi", seconds, nested, stack_id(nested), "AWS::CloudFormation::Stack", status, reason)
    }
}

const SG: &str = "AWS::EC2::SecurityGroup";
const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";
const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
const MOUNT: &str = "AWS::EFS::MountTarget";
const ROLE: &str = "AWS::IAM::Role";
const INITIATED: Option<&str> = Some("Resource creation Initiated");
const CANCELLED: Option<&str> = Some("Resource creation cancelled");
const RULES: [(&str, &str); 4] = [
    ("LoadBalancerToInstances", EGRESS),
    ("InstancesFromLoadBalancer", INGRESS),
    ("InstancesToFileSystem", EGRESS),
    ("FileSystemFromInstances", INGRESS),
];
const GROUPS: [&str; 3] = ["LoadBalancerSecurityGroup", "InstanceSecurityGroup", "FileSystemSecurityGroup"];

/// Up to the moment a task of the new service has stopped: the deploy in
/// full swing, nothing failed yet.
fn deploy_until_task_stopped() -> Script {
    let mut s = Script::default();
    s.step("Uploading 5 templates to s3://pypictl-staging-123456789012-us-east-1/pypi/")
        .step("Creating change set pypictl-20250314T092000Z (create)")
        .push(Progress::Warning(
            "service.allow_public_fallback = true: names missing from the index are redirected to pypi.org".into(),
        ))
        .step("Executing the change set: creating stack pypi")
        .stack("pypi", 0, 4)
        .tick(0)
        .own("pypi", 1, "CREATE_IN_PROGRESS", Some("User Initiated"))
        .nested(4, "Encryption", "CREATE_IN_PROGRESS", None)
        .nested(4, "Network", "CREATE_IN_PROGRESS", None)
        .nested(5, "Encryption", "CREATE_IN_PROGRESS", INITIATED)
        .nested(5, "Network", "CREATE_IN_PROGRESS", INITIATED)
        .stack("Encryption", 1, 2)
        .stack("Network", 1, 7)
        .own("Encryption", 5, "CREATE_IN_PROGRESS", Some("User Initiated"))
        .own("Network", 5, "CREATE_IN_PROGRESS", Some("User Initiated"))
        .res("Encryption", 7, "DataKey", "AWS::KMS::Key", "CREATE_IN_PROGRESS", None);
    for g in GROUPS {
        s.res("Network", 7, g, SG, "CREATE_IN_PROGRESS", None);
    }
    s.res("Encryption", 8, "DataKey", "AWS::KMS::Key", "CREATE_IN_PROGRESS", INITIATED);
    for g in GROUPS {
        s.res("Network", 9, g, SG, "CREATE_IN_PROGRESS", INITIATED);
    }
    s.tick(10);
    for g in GROUPS {
        s.res("Network", 13, g, SG, "CREATE_COMPLETE", None);
    }
    for (id, ty) in RULES {
        s.res("Network", 14, id, ty, "CREATE_IN_PROGRESS", None);
    }
    for (id, ty) in RULES {
        s.res("Network", 16, id, ty, "CREATE_COMPLETE", None);
    }
    s.own("Network", 17, "CREATE_COMPLETE", None)
        .nested(18, "Network", "CREATE_COMPLETE", None)
        .tick(20)
        .tick(40)
        .tick(60)
        .res("Encryption", 68, "DataKey", "AWS::KMS::Key", "CREATE_COMPLETE", None)
        .res("Encryption", 70, "DataKeyAlias", "AWS::KMS::Alias", "CREATE_IN_PROGRESS", None)
        .res("Encryption", 72, "DataKeyAlias", "AWS::KMS::Alias", "CREATE_COMPLETE", None)
        .own("Encryption", 73, "CREATE_COMPLETE", None)
        .nested(74, "Encryption", "CREATE_COMPLETE", None)
        .nested(76, "Storage", "CREATE_IN_PROGRESS", None)
        .nested(76, "Service", "CREATE_IN_PROGRESS", None)
        .nested(77, "Storage", "CREATE_IN_PROGRESS", INITIATED)
        .nested(77, "Service", "CREATE_IN_PROGRESS", INITIATED)
        .stack("Storage", 1, 4)
        .stack("Service", 1, 7)
        .own("Storage", 77, "CREATE_IN_PROGRESS", Some("User Initiated"))
        .own("Service", 77, "CREATE_IN_PROGRESS", Some("User Initiated"))
        .res("Storage", 79, "FileSystem", "AWS::EFS::FileSystem", "CREATE_IN_PROGRESS", None)
        .res("Service", 79, "LogGroup", "AWS::Logs::LogGroup", "CREATE_IN_PROGRESS", None)
        .res("Service", 79, "TaskExecutionRole", ROLE, "CREATE_IN_PROGRESS", None)
        .res("Service", 79, "TaskRole", ROLE, "CREATE_IN_PROGRESS", None)
        .tick(80)
        .res("Service", 81, "LogGroup", "AWS::Logs::LogGroup", "CREATE_COMPLETE", None)
        .res("Storage", 86, "FileSystem", "AWS::EFS::FileSystem", "CREATE_COMPLETE", None)
        .res("Storage", 88, "MountTarget1", MOUNT, "CREATE_IN_PROGRESS", None)
        .res("Storage", 88, "MountTarget2", MOUNT, "CREATE_IN_PROGRESS", None)
        .res("Storage", 88, "AccessPoint", "AWS::EFS::AccessPoint", "CREATE_IN_PROGRESS", None)
        .tick(90)
        .res("Storage", 91, "AccessPoint", "AWS::EFS::AccessPoint", "CREATE_COMPLETE", None)
        .res("Service", 95, "TaskExecutionRole", ROLE, "CREATE_COMPLETE", None)
        .res("Service", 96, "TaskRole", ROLE, "CREATE_COMPLETE", None)
        .res("Service", 98, "TaskDefinition", "AWS::ECS::TaskDefinition", "CREATE_IN_PROGRESS", None)
        .res("Service", 100, "TaskDefinition", "AWS::ECS::TaskDefinition", "CREATE_COMPLETE", None)
        .res("Service", 102, "Service", "AWS::ECS::Service", "CREATE_IN_PROGRESS", None)
        .res("Service", 103, "Service", "AWS::ECS::Service", "CREATE_IN_PROGRESS", INITIATED)
        .tick(105)
        .tasks(2, 0, 2, 0)
        .tick(110)
        .tasks(2, 0, 2, 0)
        .tick(120)
        .push(Progress::Retrying {
            what: "DescribeStackEvents (Service)".into(),
            reason: "Throttling: Rate exceeded".into(),
            delay_ms: 1500,
        })
        .tick(125)
        .tasks(2, 1, 1, 0)
        .push(Progress::TaskStopped {
            service: SERVICE.into(),
            task: StoppedTask {
                task_id: "9c1f0e7d2b8a4f6e8d3c5b7a1e2f4d6c".into(),
                stopped_at: at(131),
                reason: "Essential container in task exited; pypiserver: exit code 1".into(),
                started_by: Some("ecs-svc/1234567890123456789".into()),
            },
        })
        .tasks(2, 1, 0, 1)
        .tick(135);
    s
}

/// The whole deploy: a mount target fails, everything rolls back.
fn deploy() -> Vec<Progress> {
    let mut s = deploy_until_task_stopped();
    let storage = stack_id("Storage");
    let embedded = format!(
        "Embedded stack {storage} was not successfully created: The following resource(s) failed to create: [MountTarget1, MountTarget2]. "
    );
    s.res(
        "Storage",
        142,
        "MountTarget2",
        MOUNT,
        "CREATE_FAILED",
        Some(
            "Resource handler returned message: \"Subnet subnet-0bbbbbbbbbbbbbbb2 has no free IP addresses \
             (Service: Efs, Status Code: 409, Request ID: 4f6c2d1e-8b3a-4c9d-a7e5-2f1b0c9d8e7a)\" \
             (RequestToken: 7d3e9a51-0c2b-4f8e-b6a4-1e5d9c7b3a20, HandlerErrorCode: ServiceLimitExceeded)",
        ),
    )
    .res("Storage", 143, "MountTarget1", MOUNT, "CREATE_FAILED", CANCELLED)
    .own("Storage", 144, "CREATE_FAILED", Some("The following resource(s) failed to create: [MountTarget1, MountTarget2]. "))
    .nested(145, "Storage", "CREATE_FAILED", Some(&embedded))
    .nested(146, "Service", "CREATE_FAILED", CANCELLED)
    .res("Service", 146, "Service", "AWS::ECS::Service", "CREATE_FAILED", CANCELLED)
    .own("Service", 147, "CREATE_FAILED", CANCELLED)
    .own(
        "pypi",
        147,
        "ROLLBACK_IN_PROGRESS",
        Some("The following resource(s) failed to create: [Service, Storage]. Rollback requested by user."),
    )
    .nested(149, "Service", "DELETE_IN_PROGRESS", None)
    .nested(149, "Storage", "DELETE_IN_PROGRESS", None)
    .tick(150)
    .own("Service", 150, "DELETE_IN_PROGRESS", None)
    .own("Storage", 150, "DELETE_IN_PROGRESS", None)
    .res("Service", 151, "Service", "AWS::ECS::Service", "DELETE_IN_PROGRESS", None)
    .res("Storage", 152, "AccessPoint", "AWS::EFS::AccessPoint", "DELETE_IN_PROGRESS", None)
    .res("Storage", 152, "MountTarget1", MOUNT, "DELETE_IN_PROGRESS", None)
    .res("Storage", 153, "AccessPoint", "AWS::EFS::AccessPoint", "DELETE_COMPLETE", None)
    .res("Storage", 153, "MountTarget2", MOUNT, "DELETE_COMPLETE", None)
    .tasks(0, 0, 0, 1)
    .tick(160)
    .res("Storage", 163, "MountTarget1", MOUNT, "DELETE_COMPLETE", None)
    .res("Storage", 164, "FileSystem", "AWS::EFS::FileSystem", "DELETE_SKIPPED", None)
    .own("Storage", 165, "DELETE_COMPLETE", None)
    .nested(166, "Storage", "DELETE_COMPLETE", None)
    .tick(170)
    .tick(180)
    .res("Service", 185, "Service", "AWS::ECS::Service", "DELETE_COMPLETE", None)
    .res("Service", 186, "TaskDefinition", "AWS::ECS::TaskDefinition", "DELETE_IN_PROGRESS", None)
    .res("Service", 187, "TaskDefinition", "AWS::ECS::TaskDefinition", "DELETE_COMPLETE", None)
    .res("Service", 187, "TaskRole", ROLE, "DELETE_IN_PROGRESS", None)
    .res("Service", 187, "TaskExecutionRole", ROLE, "DELETE_IN_PROGRESS", None)
    .res("Service", 187, "LogGroup", "AWS::Logs::LogGroup", "DELETE_IN_PROGRESS", None)
    .res("Service", 188, "LogGroup", "AWS::Logs::LogGroup", "DELETE_COMPLETE", None)
    .tick(190)
    .res("Service", 190, "TaskRole", ROLE, "DELETE_COMPLETE", None)
    .res("Service", 191, "TaskExecutionRole", ROLE, "DELETE_COMPLETE", None)
    .own("Service", 192, "DELETE_COMPLETE", None)
    .nested(193, "Service", "DELETE_COMPLETE", None)
    .nested(194, "Encryption", "DELETE_IN_PROGRESS", None)
    .nested(194, "Network", "DELETE_IN_PROGRESS", None)
    .own("Encryption", 195, "DELETE_IN_PROGRESS", None)
    .own("Network", 195, "DELETE_IN_PROGRESS", None)
    .res("Encryption", 196, "DataKeyAlias", "AWS::KMS::Alias", "DELETE_COMPLETE", None)
    .res("Encryption", 196, "DataKey", "AWS::KMS::Key", "DELETE_SKIPPED", None);
    for (id, ty) in RULES {
        s.res("Network", 196, id, ty, "DELETE_COMPLETE", None);
    }
    s.own("Encryption", 197, "DELETE_COMPLETE", None).nested(198, "Encryption", "DELETE_COMPLETE", None);
    for g in GROUPS {
        s.res("Network", 199, g, SG, "DELETE_COMPLETE", None);
    }
    s.tick(200)
        .own("Network", 200, "DELETE_COMPLETE", None)
        .nested(201, "Network", "DELETE_COMPLETE", None)
        .own("pypi", 202, "ROLLBACK_COMPLETE", Some("Rollback complete"))
        .tick(205);
    s.items
}

// ---------------------------------------------------------------------------
// Rendering

pub(crate) fn render_plain(items: &[Progress]) -> String {
    let mut r = PlainRenderer::new(Vec::new());
    for p in items {
        r.emit(p.clone());
    }
    r.finish();
    String::from_utf8(r.into_inner()).unwrap()
}

/// An in-memory terminal for indicatif: a vt100 parser behind a lock, shared
/// with the test that reads its screen.
#[derive(Clone)]
pub(crate) struct Terminal(Arc<Mutex<vt100::Parser>>);

const ROWS: u16 = 40;
const COLS: u16 = 100;

impl Terminal {
    fn new() -> Self {
        Terminal(Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0))))
    }

    fn feed(&self, s: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().process(s.as_bytes());
        Ok(())
    }

    fn moved(&self, n: usize, code: char) -> std::io::Result<()> {
        // CSI 0 A moves one line on real terminals: moving by 0 writes nothing.
        if n > 0 {
            self.feed(&format!("\x1b[{n}{code}"))?;
        }
        Ok(())
    }

    /// The screen's rows, right-trimmed, without the empty rows at the end.
    pub(crate) fn text(&self) -> String {
        let parser = self.0.lock().unwrap();
        let rows: Vec<String> = parser.screen().rows(0, COLS).map(|r| r.trim_end().to_string()).collect();
        let used = rows.iter().rposition(|r| !r.is_empty()).map_or(0, |i| i + 1);
        rows[..used].iter().map(|r| format!("{r}\n")).collect()
    }

    fn row_of(&self, needle: &str) -> Option<u16> {
        let parser = self.0.lock().unwrap();
        let row = parser.screen().rows(0, COLS).position(|r| r.contains(needle));
        row.map(|i| i as u16)
    }

    fn fg(&self, row: u16, col: u16) -> vt100::Color {
        self.0.lock().unwrap().screen().cell(row, col).unwrap().fgcolor()
    }
}

impl fmt::Debug for Terminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Terminal")
    }
}

impl TermLike for Terminal {
    fn width(&self) -> u16 {
        COLS
    }
    fn height(&self) -> u16 {
        ROWS
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'A')
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'B')
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'C')
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.moved(n, 'D')
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.feed(&format!("{s}\r\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.feed(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.feed("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders `items` on a fresh terminal; `finish` ends the watch. The
/// renderer is returned to keep it alive: dropping it finishes its lines.
pub(crate) fn render_tty(items: &[Progress], finish: bool) -> (Terminal, TtyRenderer) {
    // Colours are decided per process by `console` (off when stdout is not a
    // terminal, as under `cargo test`); the snapshot checks them.
    console::set_colors_enabled(true);
    let term = Terminal::new();
    // No rate limit (`term_like` without a refresh rate): every update is
    // drawn, whatever the speed of the machine running the test.
    let mut r = TtyRenderer::new(ProgressDrawTarget::term_like(Box::new(term.clone())));
    for p in items {
        r.emit(p.clone());
    }
    if finish {
        r.finish();
    }
    (term, r)
}

// ---------------------------------------------------------------------------
// Golden files

fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/render").join(name);
    if std::env::var_os("PYPICTL_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\nCreate it with PYPICTL_UPDATE_GOLDEN=1 cargo test --test render", path.display()));
    if expected == actual {
        return;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let first = (0..e.len().max(a.len())).find(|&i| e.get(i) != a.get(i)).unwrap_or(0);
    panic!(
        "fixtures/render/{name} differs from the rendered output, first at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
         --- expected\n{expected}--- actual\n{actual}---\n\
         If the change is intended: PYPICTL_UPDATE_GOLDEN=1 cargo test --test render, then review the diff.",
        first + 1,
        e.get(first).copied().unwrap_or("<end of file>"),
        a.get(first).copied().unwrap_or("<end of output>"),
    );
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn plain_output_matches_its_golden_file() {
    assert_golden("plain.txt", &render_plain(&deploy()));
}

#[test]
fn plain_output_has_no_escape_codes_or_carriage_returns() {
    let mut items = deploy();
    // Reasons are free text from AWS: they must not smuggle codes through.
    items.push(Progress::Warning("red \x1b[31malert\x1b[0m\r\nsecond line".into()));
    let out = render_plain(&items);
    assert!(!out.contains('\x1b'), "{out}");
    assert!(!out.contains('\r'), "{out}");
    assert!(out.ends_with("warning: red [31malert [0m second line\n"), "{out}");
}

#[test]
fn plain_tasks_line_only_when_it_changes() {
    let snapshot = |running, pending| ServiceSnapshot { desired: 2, running, pending, ..Default::default() };
    let tasks = |s: ServiceSnapshot| Progress::Tasks { service: SERVICE.into(), snapshot: s };
    let items = vec![
        Progress::Tick { now: at(0) },
        tasks(snapshot(0, 2)),
        Progress::Tick { now: at(5) },
        tasks(snapshot(0, 2)),
        tasks(snapshot(1, 1)),
        Progress::Tick { now: at(10) },
        tasks(snapshot(1, 1)),
        Progress::Tasks { service: "other".into(), snapshot: snapshot(1, 1) },
        tasks(snapshot(0, 2)),
    ];
    assert_eq!(
        render_plain(&items),
        "09:20:00  pypiserver-development  tasks  running 0/2, pending 2, failed 0\n\
         09:20:05  pypiserver-development  tasks  running 1/2, pending 1, failed 0\n\
         09:20:10  other  tasks  running 1/2, pending 1, failed 0\n\
         09:20:10  pypiserver-development  tasks  running 0/2, pending 2, failed 0\n"
    );
}

#[test]
fn tty_screen_matches_its_golden_file() {
    let (term, _renderer) = render_tty(&deploy(), true);
    assert_golden("tty.txt", &term.text());

    // The root cause is red, from its mark to its reason.
    let row = term.row_of("✘ Storage MountTarget2 (AWS::EFS::MountTarget)").expect("the failure is on screen");
    assert_eq!(term.fg(row, 0), vt100::Color::Idx(1));
    assert_eq!(term.fg(row, 30), vt100::Color::Idx(1));
}

#[test]
fn tty_screen_while_deploying_matches_its_golden_file() {
    // What a user watches for most of a deploy: spinners, ids in progress,
    // the service's tasks; no finish.
    let (term, _renderer) = render_tty(&deploy_until_task_stopped().items, false);
    assert_golden("tty-deploying.txt", &term.text());
}

#[test]
fn tty_elapsed_times_follow_ticks_not_the_wall_clock() {
    let items = deploy_until_task_stopped().items;
    let (term, _renderer) = render_tty(&items, false);
    let first = term.text();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (term, _renderer) = render_tty(&items, false);
    assert_eq!(first, term.text());

    // The root stack started at 09:20:01; the last tick is 09:22:15.
    assert!(first.lines().any(|l| l.contains(" pypi ") && l.contains("2m 14s")), "{first}");
}
