//! The package store: an encrypted EFS file system with a mount target in
//! every instance subnet and two access points owned by pypiserver's uid:
//! the package directory, and beside it the proxy's upload buffers, where
//! it buffers request bodies without being able to write a package.
//! Stateful: retained on delete and on replacement.

use crate::cfn::resources::efs::{
    AccessPoint, BackupPolicy, CreationInfo, ElasticFileSystemTag, FileSystem, LifecyclePolicy, MountTarget, PosixUser,
    RootDirectory,
};
use crate::cfn::{Expr, PolicyDocument, StackOutput, Statement, Template};
use crate::config::ThroughputMode;
use crate::pypiserver::{PYPISERVER_GID, PYPISERVER_UID};

use super::{encryption, insecure_transport, network, Ctx};

pub struct Outputs {
    pub file_system_id: StackOutput,
    pub file_system_arn: StackOutput,
    pub access_point_id: StackOutput,
    pub access_point_arn: StackOutput,
    pub buffers_access_point_id: StackOutput,
    pub buffers_access_point_arn: StackOutput,
}

/// Directory of the packages inside the file system.
pub const PACKAGES_PATH: &str = "/packages";

/// Directory of the proxy's upload buffers, beside the packages. Not inside
/// them: an access point's root may have no path segment starting with a
/// dot (the EFS API's `RootDirectory.Path` pattern), and a name without one
/// would be listed and served as part of the package directory.
pub const UPLOAD_BUFFERS_PATH: &str = "/upload-buffers";

pub fn build(ctx: Ctx, net: &network::Outputs, enc: &encryption::Outputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let st = &cfg.storage;
    let mut t = Template::new("Storage", format!("pypictl {}: EFS package storage", cfg.service_name));
    let efs_sg = t.import(&net.efs_sg, "Security group of the mount targets");
    let key_arn = t.import(&enc.key_arn, "KMS key that encrypts the file system");

    let mut lifecycle = Vec::new();
    if let Some(days) = st.lifecycle_days() {
        lifecycle.push(LifecyclePolicy { transition_to_ia: Some(format!("AFTER_{days}_DAYS").into()), ..Default::default() });
        // A file read again (a version back in use) returns to standard storage.
        lifecycle.push(LifecyclePolicy { transition_to_primary_storage_class: Some("AFTER_1_ACCESS".into()), ..Default::default() });
    }

    let policy = PolicyDocument::new(vec![Statement::deny(&[
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientWrite",
        "elasticfilesystem:ClientRootAccess",
    ])
    .sid("RefuseUnencryptedTransport")
    .aws(vec!["*".into()])
    .on_any()
    .when(insecure_transport())]);

    let fs = t
        .add(
            "FileSystem",
            FileSystem {
                encrypted: Some(true),
                kms_key_id: Some(key_arn),
                performance_mode: Some("generalPurpose".into()),
                throughput_mode: Some(st.throughput_mode.as_str().into()),
                provisioned_throughput_in_mibps: match st.throughput_mode {
                    ThroughputMode::Provisioned => st.provisioned_throughput_mibps.map(Expr::from),
                    _ => None,
                },
                lifecycle_policies: (!lifecycle.is_empty()).then_some(lifecycle),
                file_system_policy: Some(policy.to_expr()),
                // AWS Backup's plan (the backup stack) does the backups; EFS's
                // own automatic backups would duplicate them.
                backup_policy: Some(BackupPolicy { status: if cfg.backup.enabled { "DISABLED" } else { "ENABLED" }.into() }),
                file_system_tags: Some(vec![ElasticFileSystemTag { key: "Name".into(), value: ctx.name("packages").into() }]),
            },
        )
        .retain()
        .handle();

    for (i, subnet) in cfg.network.asg_subnets.iter().enumerate() {
        t.add(
            &format!("MountTarget{}", i + 1),
            MountTarget { file_system_id: fs.r(), subnet_id: subnet.into(), security_groups: vec![efs_sg.clone()] },
        );
    }

    // Both owned by pypiserver's uid (the containers' user); EFS creates
    // each directory on first mount (the buffers only that uid may enter).
    let access_point = |t: &mut Template, id: &str, path: String, permissions: &str, name: &str| {
        t.add(
            id,
            AccessPoint {
                file_system_id: fs.r(),
                posix_user: Some(PosixUser { uid: PYPISERVER_UID.to_string().into(), gid: PYPISERVER_GID.to_string().into() }),
                root_directory: Some(RootDirectory {
                    path: Some(path.into()),
                    creation_info: Some(CreationInfo {
                        owner_uid: PYPISERVER_UID.to_string().into(),
                        owner_gid: PYPISERVER_GID.to_string().into(),
                        permissions: permissions.into(),
                    }),
                }),
                access_point_tags: Some(vec![ElasticFileSystemTag { key: "Name".into(), value: ctx.name(name).into() }]),
            },
        )
        .handle()
    };
    let ap = access_point(&mut t, "AccessPoint", PACKAGES_PATH.into(), "0755", "packages");
    let buffers = access_point(&mut t, "UploadBuffersAccessPoint", UPLOAD_BUFFERS_PATH.into(), "0700", "upload-buffers");

    let file_system_id = t.export("FileSystemId", "EFS file system holding the packages", fs.r());
    let file_system_arn = t.export("FileSystemArn", "ARN of the file system", fs.att("Arn"));
    let access_point_id = t.export("AccessPointId", "Access point the containers mount", ap.r());
    let access_point_arn = t.export("AccessPointArn", "ARN of the access point", ap.att("Arn"));
    let buffers_access_point_id = t.export("UploadBuffersAccessPointId", "Access point of the proxy's upload buffers", buffers.r());
    let buffers_access_point_arn = t.export("UploadBuffersAccessPointArn", "ARN of the upload buffers access point", buffers.att("Arn"));
    (t, Outputs { file_system_id, file_system_arn, access_point_id, access_point_arn, buffers_access_point_id, buffers_access_point_arn })
}
