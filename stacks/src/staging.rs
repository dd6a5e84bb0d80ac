//! The staging bucket's own small stack, created on first deploy in an
//! account and region: nested templates are uploaded there, content-addressed.

use crate::cfn::resources::s3::{BucketPolicy, LifecycleRule, NoncurrentVersionExpiration};
use crate::cfn::{Expr, PolicyDocument, Statement, Template};
use crate::components::{insecure_transport, private_bucket};

pub const STACK_NAME: &str = "pypictl-staging";
pub const FILE: &str = "staging.template.json";
pub const BUCKET_OUTPUT: &str = "BucketName";

pub fn template() -> Template {
    let mut t = Template::new("", "pypictl staging bucket: synthesized templates of pypictl deployments in this account and region");
    let bucket = t
        .add(
            "StagingBucket",
            // A log bucket's rule would expire templates still in use: here
            // only versions replaced by a re-upload expire.
            private_bucket(
                LifecycleRule {
                    id: Some("expire-replaced-versions".into()),
                    status: "Enabled".into(),
                    expiration_in_days: None,
                    noncurrent_version_expiration: Some(NoncurrentVersionExpiration { noncurrent_days: 30u32.into() }),
                    abort_incomplete_multipart_upload: None,
                },
                "BucketOwnerEnforced",
            ),
        )
        // Templates are content-addressed and re-creatable with `pypictl synth`;
        // keeping the bucket avoids breaking deployments that still point at it.
        .retain()
        .checkov_skip(
            "CKV_AWS_18",
            "Holds only synthesized CloudFormation templates (no secrets, no data), re-creatable with `pypictl synth`; CloudTrail records its API access.",
        )
        .handle();
    let policy = PolicyDocument::new(vec![Statement::deny(&["s3:*"])
        .sid("RefuseUnencryptedTransport")
        .aws(vec!["*".into()])
        .on(vec![bucket.att("Arn"), Expr::sub_with("${Bucket}/*", vec![("Bucket", bucket.att("Arn"))])])
        .when(insecure_transport())]);
    t.add("StagingBucketPolicy", BucketPolicy { bucket: bucket.r(), policy_document: policy.to_expr() });
    t.output(BUCKET_OUTPUT, "Bucket of the staged templates", bucket.r());
    t
}
