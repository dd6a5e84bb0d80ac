use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::CloudFront::Distribution", Distribution {
    distribution_config: DistributionConfig,
    tags: Option<Vec<Tag>>,
});

props!(DistributionConfig {
    enabled: bool,
    comment: Option<Expr>,
    aliases: Option<Vec<Expr>>,
    price_class: Option<Expr>,
    http_version: Option<Expr>,
    #[serde(rename = "IPV6Enabled")]
    ipv6_enabled: Option<bool>,
    viewer_certificate: Option<ViewerCertificate>,
    origins: Vec<Origin>,
    default_cache_behavior: CacheBehavior,
    cache_behaviors: Option<Vec<CacheBehavior>>,
    logging: Option<Logging>,
});

props!(ViewerCertificate {
    acm_certificate_arn: Option<Expr>,
    minimum_protocol_version: Option<Expr>,
    ssl_support_method: Option<Expr>,
});

props!(Origin {
    id: Expr,
    domain_name: Expr,
    custom_origin_config: Option<CustomOriginConfig>,
    origin_custom_headers: Option<Vec<OriginCustomHeader>>,
});

props!(CustomOriginConfig {
    #[serde(rename = "HTTPSPort")]
    https_port: Option<Expr>,
    origin_protocol_policy: Expr,
    #[serde(rename = "OriginSSLProtocols")]
    origin_ssl_protocols: Option<Vec<Expr>>,
    origin_read_timeout: Option<Expr>,
    origin_keepalive_timeout: Option<Expr>,
});

props!(OriginCustomHeader { header_name: Expr, header_value: Expr });

props!(CacheBehavior {
    path_pattern: Option<Expr>,
    target_origin_id: Expr,
    viewer_protocol_policy: Expr,
    allowed_methods: Option<Vec<Expr>>,
    cached_methods: Option<Vec<Expr>>,
    cache_policy_id: Option<Expr>,
    origin_request_policy_id: Option<Expr>,
    compress: Option<bool>,
});

props!(Logging { bucket: Expr, prefix: Option<Expr>, include_cookies: Option<bool> });

resource!("AWS::CloudFront::CachePolicy", CachePolicy { cache_policy_config: CachePolicyConfig });

props!(CachePolicyConfig {
    name: Expr,
    comment: Option<Expr>,
    #[serde(rename = "DefaultTTL")]
    default_ttl: Expr,
    #[serde(rename = "MaxTTL")]
    max_ttl: Expr,
    #[serde(rename = "MinTTL")]
    min_ttl: Expr,
    parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters,
});

props!(CacheKeyParameters {
    #[serde(rename = "EnableAcceptEncodingGzip")]
    enable_accept_encoding_gzip: bool,
    #[serde(rename = "EnableAcceptEncodingBrotli")]
    enable_accept_encoding_brotli: Option<bool>,
    cookies_config: BehaviorConfig,
    headers_config: HeadersConfig,
    query_strings_config: QueryStringsConfig,
});

props!(BehaviorConfig { cookie_behavior: Expr });
props!(HeadersConfig { header_behavior: Expr, headers: Option<Vec<Expr>> });
props!(QueryStringsConfig { query_string_behavior: Expr });
