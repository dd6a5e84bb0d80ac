use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::CertificateManager::Certificate", Certificate {
    domain_name: Expr,
    subject_alternative_names: Option<Vec<Expr>>,
    validation_method: Option<Expr>,
    domain_validation_options: Option<Vec<DomainValidationOption>>,
    key_algorithm: Option<Expr>,
    certificate_transparency_logging_preference: Option<Expr>,
    tags: Option<Vec<Tag>>,
});

props!(DomainValidationOption { domain_name: Expr, hosted_zone_id: Expr });
