//! [`Probe`]: HTTP(S) requests to the deployed service, as pip would make them.

use std::time::Duration;

use base64::Engine as _;

use crate::engine::cloud::Probe;

/// A client with a short timeout and no redirects (a redirect is an answer).
pub struct HttpProbe {
    agent: ureq::Agent,
}

impl Default for HttpProbe {
    fn default() -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(20)))
            .max_redirects(0)
            .max_redirects_will_error(false)
            .http_status_as_error(false)
            .build()
            .into();
        HttpProbe { agent }
    }
}

impl Probe for HttpProbe {
    async fn http_status(&self, url: &str, basic_auth: Option<(&str, &str)>) -> Result<u16, String> {
        let mut request = self.agent.get(url);
        if let Some((user, password)) = basic_auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request = request.header("Authorization", format!("Basic {token}"));
        }
        // A CLI makes one request at a time: blocking here is fine.
        request.call().map(|r| r.status().as_u16()).map_err(|e| e.to_string())
    }
}
