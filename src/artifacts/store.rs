//! The artifact store, through `object_store`: a local folder by default, or any
//! S3-compatible bucket. Keys are the contract's `storage_path`s under an optional prefix.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    ClientConfigKey, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use percent_encoding::percent_decode_str;

use crate::config::Config;
use crate::error::{Error, Result};

/// Where artifacts live.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Set when the store is S3, for presigned URLs.
    s3: Option<Arc<AmazonS3>>,
    prefix: String,
    describe: String,
    /// Taken while a streamed upload is put in place, and while finalize checks and claims
    /// uploads, so that the two never interleave.
    commits: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

/// The endpoint of a bucket addressed by virtual host, as S3 does it: `http://host:port`
/// becomes `http://BUCKET.host:port` (object_store takes a custom endpoint as the bucket's
/// own). An endpoint already naming the bucket is kept; an IP address cannot carry one.
fn bucket_host(endpoint: &str, bucket: &str) -> Result<String> {
    let refuse = |why: &str| {
        Error::unexpected(format!(
            "--s3-endpoint {endpoint}: {why}; add --s3-path-style (BURROW_S3_PATH_STYLE=1) \
             to address the bucket by path, as MinIO and most self-hosted stores expect"
        ))
    };
    let mut url = reqwest::Url::parse(endpoint).map_err(|e| refuse(&e.to_string()))?;
    let Some(host) = url.domain().map(str::to_string) else {
        return Err(refuse(
            "virtual-host addressing puts the bucket in the host name, and an IP address has none",
        ));
    };
    if !host.starts_with(&format!("{bucket}.")) {
        url.set_host(Some(&format!("{bucket}.{host}")))
            .map_err(|e| refuse(&e.to_string()))?;
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl Store {
    /// The store the configuration names. Credentials for S3 come from the standard `AWS_*`
    /// variables and are never logged.
    pub fn from_config(config: &Config) -> Result<Store> {
        Self::open(config, false)
    }

    /// The store for `burrow storage check`: a failed request fails at once, with no retries
    /// (and none of their log lines) before the verdict.
    pub fn for_check(config: &Config) -> Result<Store> {
        Self::open(config, true)
    }

    fn open(config: &Config, probe: bool) -> Result<Store> {
        let setting = config.artifacts.clone().unwrap_or_default();
        if let Some(rest) = setting.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::unexpected(
                    "--artifacts s3://BUCKET/PREFIX needs a bucket name".into(),
                ));
            }
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_region(&config.s3_region)
                .with_allow_http(config.s3_allow_http)
                .with_virtual_hosted_style_request(!config.s3_path_style);
            if probe {
                builder = builder
                    .with_retry(RetryConfig {
                        max_retries: 0,
                        ..RetryConfig::default()
                    })
                    .with_config(
                        AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                        "5s",
                    );
            }
            if let Some(endpoint) = &config.s3_endpoint {
                let endpoint = if config.s3_path_style {
                    endpoint.clone()
                } else {
                    bucket_host(endpoint, bucket)?
                };
                builder = builder.with_endpoint(endpoint);
            }
            let s3 =
                Arc::new(builder.build().map_err(|e| {
                    Error::unexpected(format!("S3 artifact store: {}", explain(&e)))
                })?);
            let endpoint = config.s3_endpoint.as_deref().unwrap_or("AWS");
            Ok(Store {
                inner: s3.clone(),
                s3: Some(s3),
                prefix: prefix.trim_matches('/').to_string(),
                describe: format!("s3://{bucket}/{} at {endpoint}", prefix.trim_matches('/')),
                commits: Arc::default(),
            })
        } else {
            let root = if setting.is_empty() {
                config.data_dir.join("artifacts")
            } else {
                setting.into()
            };
            std::fs::create_dir_all(&root).map_err(|e| {
                Error::unexpected(format!(
                    "cannot create the artifact folder {}: {e}",
                    root.display()
                ))
            })?;
            let local = LocalFileSystem::new_with_prefix(&root).map_err(|e| {
                Error::unexpected(format!("artifact folder {}: {e}", root.display()))
            })?;
            Ok(Store {
                inner: Arc::new(local),
                s3: None,
                prefix: String::new(),
                describe: format!("folder {}", root.display()),
                commits: Arc::default(),
            })
        }
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn is_s3(&self) -> bool {
        self.s3.is_some()
    }

    fn key(&self, storage_path: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(storage_path)
        } else {
            Path::from(format!("{}/{storage_path}", self.prefix))
        }
    }

    /// The storage path of a key listed from the store. Keys spell some characters of a
    /// name (`[`, `~`, `%`, `#`, …) percent-escaped, as `Path::from` wrote them: unescape, so
    /// the path compares equal to the manifest's.
    fn storage_path(&self, key: &Path) -> String {
        let key = percent_decode_str(key.as_ref()).decode_utf8_lossy();
        if self.prefix.is_empty() {
            key.into_owned()
        } else {
            key.strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(&key)
                .to_string()
        }
    }

    pub async fn put(&self, storage_path: &str, bytes: Vec<u8>) -> Result<()> {
        self.inner
            .put(&self.key(storage_path), PutPayload::from(bytes))
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// The lock a streamed upload holds while it is put in place (`finish`) and finalize
    /// holds while it checks and claims uploads.
    pub async fn commit_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.commits.lock().await
    }

    /// Starts a streamed upload; the caller writes chunks and finishes or aborts it. Its
    /// bytes stay out of sight (a staging file, an open multipart upload) until `finish`.
    pub async fn upload(&self, storage_path: &str) -> Result<Streamed> {
        let upload = self
            .inner
            .put_multipart(&self.key(storage_path))
            .await
            .map_err(store_error)?;
        Ok(Streamed(Some(WriteMultipart::new(upload))))
    }

    /// The object's bytes as a stream, and its size.
    pub async fn get(
        &self,
        storage_path: &str,
    ) -> Result<(u64, BoxStream<'static, Result<actix_web::web::Bytes>>)> {
        let got = self
            .inner
            .get(&self.key(storage_path))
            .await
            .map_err(store_error)?;
        let size = got.meta.size;
        let stream = got.into_stream().map(|r| r.map_err(store_error)).boxed();
        Ok((size, stream))
    }

    pub async fn get_bytes(&self, storage_path: &str) -> Result<Vec<u8>> {
        let got = self
            .inner
            .get(&self.key(storage_path))
            .await
            .map_err(store_error)?;
        Ok(got.bytes().await.map_err(store_error)?.to_vec())
    }

    /// The object's size, or `None` when there is no such object.
    pub async fn size(&self, storage_path: &str) -> Result<Option<u64>> {
        match self.inner.head(&self.key(storage_path)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    pub async fn delete(&self, storage_path: &str) -> Result<()> {
        match self.inner.delete(&self.key(storage_path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Deletes an object by its key exactly as a listing spelled it (`meta.location`), so
    /// that an object is removed whatever escaping its name went through.
    pub async fn delete_listed(&self, key: &Path) -> Result<()> {
        match self.inner.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Every object under `under` (a storage path prefix), with its storage path and its
    /// metadata.
    pub async fn list(&self, under: &str) -> Result<Vec<(String, ObjectMeta)>> {
        let prefix = self.key(under);
        let mut listed = self.inner.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(store_error)?;
            out.push((self.storage_path(&meta.location), meta));
        }
        Ok(out)
    }

    /// A presigned S3 GET valid for `ttl`; `None` when the store is not S3.
    pub async fn presigned_get(&self, storage_path: &str, ttl: Duration) -> Result<Option<String>> {
        let Some(s3) = &self.s3 else {
            return Ok(None);
        };
        let url = s3
            .signed_url(
                object_store::signer::Method::GET,
                &self.key(storage_path),
                ttl,
            )
            .await
            .map_err(store_error)?;
        Ok(Some(url.to_string()))
    }
}

fn store_error(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound,
        other => Error::unexpected(format!("artifact store: {}", explain(&other))),
    }
}

/// The error with its whole chain of causes, so a storage problem says what went wrong.
pub fn explain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// A streamed upload that is aborted when dropped unfinished: a request whose client hangs
/// up is dropped mid-copy, and an S3 multipart upload left open keeps its parts, unseen by
/// `burrow gc`.
pub struct Streamed(Option<WriteMultipart>);

impl Streamed {
    /// The upload, there until `finish` or `abort` takes it.
    pub fn writer(&mut self) -> &mut WriteMultipart {
        self.0
            .as_mut()
            .expect("an upload is written before it ends")
    }

    /// Puts the bytes in place.
    pub async fn finish(mut self) -> Result<()> {
        match self.0.take() {
            Some(upload) => upload.finish().await.map(drop).map_err(store_error),
            None => Ok(()),
        }
    }

    /// Throws the bytes away.
    pub async fn abort(mut self) -> Result<()> {
        match self.0.take() {
            Some(upload) => upload.abort().await.map_err(store_error),
            None => Ok(()),
        }
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        if let Some(upload) = self.0.take() {
            actix_web::rt::spawn(async move {
                if let Err(e) = upload.abort().await {
                    tracing::warn!("could not abort an unfinished upload: {e}");
                }
            });
        }
    }
}
