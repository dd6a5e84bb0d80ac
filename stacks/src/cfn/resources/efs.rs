use crate::cfn::{props, resource, Expr};

resource!("AWS::EFS::FileSystem", FileSystem {
    encrypted: Option<bool>,
    kms_key_id: Option<Expr>,
    performance_mode: Option<Expr>,
    throughput_mode: Option<Expr>,
    provisioned_throughput_in_mibps: Option<Expr>,
    lifecycle_policies: Option<Vec<LifecyclePolicy>>,
    file_system_policy: Option<Expr>,
    backup_policy: Option<BackupPolicy>,
    file_system_tags: Option<Vec<ElasticFileSystemTag>>,
});

props!(LifecyclePolicy {
    #[serde(rename = "TransitionToIA")]
    transition_to_ia: Option<Expr>,
    transition_to_primary_storage_class: Option<Expr>,
});

props!(BackupPolicy { status: Expr });
props!(ElasticFileSystemTag { key: String, value: Expr });

resource!("AWS::EFS::MountTarget", MountTarget { file_system_id: Expr, subnet_id: Expr, security_groups: Vec<Expr> });

resource!("AWS::EFS::AccessPoint", AccessPoint {
    file_system_id: Expr,
    posix_user: Option<PosixUser>,
    root_directory: Option<RootDirectory>,
    access_point_tags: Option<Vec<ElasticFileSystemTag>>,
});

props!(PosixUser { uid: Expr, gid: Expr });
props!(RootDirectory { path: Option<Expr>, creation_info: Option<CreationInfo> });
props!(CreationInfo { owner_uid: Expr, owner_gid: Expr, permissions: Expr });
