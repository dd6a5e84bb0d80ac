use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::S3::Bucket", Bucket {
    bucket_encryption: Option<BucketEncryption>,
    public_access_block_configuration: Option<PublicAccessBlock>,
    versioning_configuration: Option<Versioning>,
    lifecycle_configuration: Option<LifecycleConfiguration>,
    ownership_controls: Option<OwnershipControls>,
    tags: Option<Vec<Tag>>,
});

props!(BucketEncryption { server_side_encryption_configuration: Vec<EncryptionRule> });
props!(EncryptionRule { server_side_encryption_by_default: EncryptionByDefault, bucket_key_enabled: Option<bool> });
props!(EncryptionByDefault {
    #[serde(rename = "SSEAlgorithm")]
    sse_algorithm: Expr,
    #[serde(rename = "KMSMasterKeyID")]
    kms_master_key_id: Option<Expr>,
});

props!(PublicAccessBlock { block_public_acls: bool, block_public_policy: bool, ignore_public_acls: bool, restrict_public_buckets: bool });

impl PublicAccessBlock {
    pub fn all() -> PublicAccessBlock {
        PublicAccessBlock { block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }
    }
}

props!(Versioning { status: Expr });
props!(LifecycleConfiguration { rules: Vec<LifecycleRule> });
props!(LifecycleRule {
    id: Option<Expr>,
    status: Expr,
    expiration_in_days: Option<Expr>,
    noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
});
props!(NoncurrentVersionExpiration { noncurrent_days: Expr });
props!(AbortIncompleteMultipartUpload { days_after_initiation: Expr });
props!(OwnershipControls { rules: Vec<OwnershipRule> });
props!(OwnershipRule { object_ownership: Expr });

resource!("AWS::S3::BucketPolicy", BucketPolicy { bucket: Expr, policy_document: Expr });
