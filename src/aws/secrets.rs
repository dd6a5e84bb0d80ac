//! [`Secrets`]: the service's credentials in Secrets Manager.

use super::errors::cloud_error;
use super::AwsCloud;
use crate::engine::cloud::{CloudResult, Secrets};
use crate::engine::model::{CloudError, ErrorKind};

impl Secrets for AwsCloud {
    async fn secret_value(&self, id: &str) -> CloudResult<String> {
        let out = self.secretsmanager.get_secret_value().secret_id(id).send().await.map_err(cloud_error)?;
        out.secret_string().map(str::to_string).ok_or_else(|| CloudError::new(ErrorKind::Other, "NoSecretString", format!("secret {id} has no string value")))
    }

    async fn put_secret_value(&self, id: &str, value: &str) -> CloudResult<()> {
        self.secretsmanager.put_secret_value().secret_id(id).secret_string(value).send().await.map_err(cloud_error)?;
        Ok(())
    }

    async fn random_password(&self, length: u32, exclude_characters: &str) -> CloudResult<String> {
        let out = self
            .secretsmanager
            .get_random_password()
            .password_length(i64::from(length))
            .exclude_characters(exclude_characters)
            .require_each_included_type(true)
            .include_space(false)
            .send()
            .await
            .map_err(cloud_error)?;
        out.random_password().map(str::to_string).ok_or_else(|| CloudError::new(ErrorKind::Other, "NoPassword", "GetRandomPassword returned no password"))
    }
}
