//! Typed property structs, one module per AWS service, named as in the
//! CloudFormation resource reference.

pub mod acm;
pub mod appscaling;
pub mod autoscaling;
pub mod backup;
pub mod cloudformation;
pub mod cloudfront;
pub mod cloudwatch;
pub mod ec2;
pub mod ecs;
pub mod efs;
pub mod elbv2;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod route53;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
