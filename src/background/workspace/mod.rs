//! A run's workspace: a `git worktree` of a bare mirror of the task's repository, on a
//! branch of its own, with a private HOME beside it; and what the agent left there, as a
//! commit, a diff and numbers, all with the git command line (`git`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use super::git::Git;
use crate::config::Config;
use crate::error::{Error, Result};

mod changes;

/// A workspace's marker file, written when its run ends; its age decides removal.
const ENDED: &str = "ended";
/// Names the mirror whose worktree a workspace holds, so removal can prune it.
const MIRROR: &str = "mirror";

/// Where runs' workspaces and repository mirrors live, and how git is called.
pub struct Places {
    /// One folder per run: `<run id>/work` (the agent's cwd) and `<run id>/home`.
    pub workspaces: PathBuf,
    /// One bare mirror per repository, under the data folder.
    pub mirrors: PathBuf,
    /// `--repos`: a template with `{repository}`.
    pub repos: Option<String>,
    git: Git,
    pub author: (String, String),
    /// One lock per mirror: fetches and worktree changes of one repository take turns.
    locks: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

/// A prepared workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub dir: PathBuf,
    pub work: PathBuf,
    pub home: PathBuf,
    pub mirror: Option<PathBuf>,
    /// The run's branch, its base, and the commit it started from (with a repository).
    pub branch: Option<String>,
    pub base_branch: Option<String>,
    pub base_commit: Option<String>,
}

/// What the agent changed, against the base.
#[derive(Debug, Default)]
pub struct Changes {
    pub commit: Option<String>,
    pub files_changed: u64,
    pub insertions: u64,
    pub deletions: u64,
    pub diff: Vec<u8>,
}

/// Splits `Name <email>`.
pub fn author(text: &str) -> Result<(String, String), String> {
    let (name, rest) = text
        .split_once('<')
        .ok_or_else(|| format!("--git-author {text:?}: use \"Name <email>\""))?;
    let email = rest
        .strip_suffix('>')
        .ok_or_else(|| format!("--git-author {text:?}: use \"Name <email>\""))?;
    Ok((name.trim().to_string(), email.trim().to_string()))
}

/// A repository name as tasks give it (`org/repo`): plain path segments only, so it can
/// name neither a URL part nor a folder outside the mirrors.
fn checked_repository(repository: &str) -> Result<&str, String> {
    let fine = !repository.is_empty()
        && repository.split('/').all(|s| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        });
    if fine {
        Ok(repository)
    } else {
        Err(format!(
            "The task's repository {repository:?} is not a name like org/repo."
        ))
    }
}

impl Places {
    /// The places `--workspaces`, `--repos` and `--git-author` name, made and checked, and
    /// the data folder (canonical), where the mirrors live.
    pub fn from_config(config: &Config) -> Result<(Places, PathBuf)> {
        let setting = |what: String| Error::unexpected(what);
        let author = author(&config.git_author).map_err(setting)?;
        std::fs::create_dir_all(&config.data_dir).map_err(Error::internal)?;
        let data_dir = config.data_dir.canonicalize().map_err(Error::internal)?;
        let workspaces = config
            .workspaces
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("burrow-workspaces"));
        std::fs::create_dir_all(&workspaces)
            .map_err(|e| setting(format!("--workspaces {}: {e}", workspaces.display())))?;
        let workspaces = workspaces.canonicalize().map_err(Error::internal)?;
        let places = Places::new(
            workspaces,
            data_dir.join("mirrors"),
            config.repos.clone(),
            config.git_timeout,
            author,
        );
        Ok((places, data_dir))
    }

    pub fn new(
        workspaces: PathBuf,
        mirrors: PathBuf,
        repos: Option<String>,
        timeout: Duration,
        author: (String, String),
    ) -> Places {
        Places {
            workspaces,
            mirrors,
            repos,
            git: Git { timeout },
            author,
            locks: Mutex::new(HashMap::new()),
        }
    }

    async fn lock(&self, mirror: &Path) -> Arc<Mutex<()>> {
        self.locks
            .lock()
            .await
            .entry(mirror.to_path_buf())
            .or_default()
            .clone()
    }

    /// Makes the run's folder: a worktree on `burrow/<slug>-<run id's first 8>` when the
    /// task names a repository, an empty folder otherwise.
    pub async fn prepare(
        &self,
        run_id: &str,
        slug: &str,
        repository: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Workspace, String> {
        let dir = self.workspaces.join(run_id);
        let work = dir.join("work");
        let home = dir.join("home");
        let made =
            |e: std::io::Error| format!("Could not make the workspace {}: {e}", dir.display());
        tokio::fs::create_dir_all(&home).await.map_err(made)?;
        let mut ws = Workspace {
            dir: dir.clone(),
            work: work.clone(),
            home,
            mirror: None,
            branch: None,
            base_branch: None,
            base_commit: None,
        };
        let Some(repository) = repository.filter(|r| !r.trim().is_empty()) else {
            tokio::fs::create_dir_all(&work).await.map_err(made)?;
            return Ok(ws);
        };
        let repository = checked_repository(repository.trim())?;
        let template = self.repos.as_deref().ok_or_else(|| {
            format!(
                "The task names the repository {repository}, but Burrow has no --repos (BURROW_REPOS) to find it."
            )
        })?;
        let source = template.replace("{repository}", repository);
        let mirror = self.mirrors.join(format!("{repository}.git"));
        let lock = self.lock(&mirror).await;
        let _turn = lock.lock().await;
        if !mirror.join("HEAD").exists() {
            tokio::fs::create_dir_all(&mirror).await.map_err(made)?;
            self.git.run(&mirror, &["init", "--bare", "-q"]).await?;
            self.git
                .run(&mirror, &["remote", "add", "origin", &source])
                .await?;
        } else {
            self.git
                .run(&mirror, &["remote", "set-url", "origin", &source])
                .await?;
        }
        self.git
            .run(
                &mirror,
                &[
                    "fetch",
                    "-q",
                    "--prune",
                    "origin",
                    "+refs/heads/*:refs/remotes/origin/*",
                ],
            )
            .await
            .map_err(|e| format!("Could not fetch {source}: {e}"))?;
        let base = match branch.filter(|b| !b.trim().is_empty()) {
            Some(b) => b.trim().to_string(),
            None => {
                self.git
                    .run(&mirror, &["remote", "set-head", "origin", "--auto"])
                    .await
                    .map_err(|e| format!("Could not find {source}'s default branch: {e}"))?;
                let head = self
                    .git
                    .run(&mirror, &["symbolic-ref", "refs/remotes/origin/HEAD"])
                    .await?;
                head.trim_start_matches("refs/remotes/origin/").to_string()
            }
        };
        let short: String = run_id.chars().take(8).collect();
        let name = format!("burrow/{}-{short}", slug.to_lowercase());
        // The source's branch, else one of Burrow's own kept in the mirror (the branch of
        // an earlier run, not pushed, that a resumed run goes on from).
        let mut found = None;
        for start in [
            format!("refs/remotes/origin/{base}"),
            format!("refs/heads/{base}"),
        ] {
            let commit = format!("{start}^{{commit}}");
            let args = ["rev-parse", "--verify", "-q", commit.as_str()];
            if let Ok(commit) = self.git.run(&mirror, &args).await {
                found = Some((start, commit));
                break;
            }
        }
        let (start, base_commit) =
            found.ok_or_else(|| format!("The branch {base} is not in {source}."))?;
        let work_text = work.to_string_lossy().to_string();
        self.git
            .run(
                &mirror,
                &[
                    "worktree",
                    "add",
                    "-q",
                    "--no-track",
                    "-b",
                    &name,
                    &work_text,
                    &start,
                ],
            )
            .await?;
        tokio::fs::write(dir.join(MIRROR), mirror.to_string_lossy().as_bytes())
            .await
            .map_err(made)?;
        ws.mirror = Some(mirror);
        ws.branch = Some(name);
        ws.base_branch = Some(base);
        ws.base_commit = Some(base_commit);
        Ok(ws)
    }

    /// Marks the workspace as belonging to a run that has ended.
    pub async fn ended(&self, ws: &Workspace) {
        let _ = tokio::fs::write(ws.dir.join(ENDED), b"").await;
    }

    /// Sweeps every so often (at most every 10 minutes), for as long as a runner runs.
    pub async fn sweep_forever(&self, keep: Duration) {
        let every = Duration::from_secs(600).min(keep.max(Duration::from_secs(1)));
        loop {
            self.sweep(keep).await;
            tokio::time::sleep(every).await;
        }
    }

    /// Removes the workspaces whose run ended longer than `keep` ago, and prunes their
    /// worktrees from the mirrors. The branches stay in the mirror.
    pub async fn sweep(&self, keep: Duration) {
        let Ok(mut dirs) = tokio::fs::read_dir(&self.workspaces).await else {
            return;
        };
        while let Ok(Some(entry)) = dirs.next_entry().await {
            let dir = entry.path();
            let old = tokio::fs::metadata(dir.join(ENDED))
                .await
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age >= keep);
            if !old {
                continue;
            }
            let mirror = tokio::fs::read_to_string(dir.join(MIRROR)).await.ok();
            if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
                tracing::warn!("cannot remove the workspace {}: {e}", dir.display());
                continue;
            }
            if let Some(mirror) = mirror {
                let mirror = PathBuf::from(mirror);
                let lock = self.lock(&mirror).await;
                let _turn = lock.lock().await;
                let _ = self.git.run(&mirror, &["worktree", "prune"]).await;
            }
        }
    }
}
