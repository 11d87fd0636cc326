//! What a run's agent left in its worktree: committing it, leaving paths out, the diff's
//! figures, and pushing the branch.

use super::{Changes, Places, Workspace};

impl Places {
    /// Commits whatever changed in the worktree; whether there was anything.
    pub async fn commit(&self, ws: &Workspace, message: &str) -> Result<bool, String> {
        if ws.mirror.is_none() {
            return Ok(false);
        }
        self.git.run(&ws.work, &["add", "-A"]).await?;
        if self
            .git
            .run(&ws.work, &["diff", "--cached", "--quiet"])
            .await
            .is_ok()
        {
            return Ok(false);
        }
        let (name, email) = &self.author;
        let name = format!("user.name={name}");
        let email = format!("user.email={email}");
        self.git
            .run(
                &ws.work,
                &[
                    "-c",
                    &name,
                    "-c",
                    &email,
                    "-c",
                    "commit.gpgsign=false",
                    "commit",
                    "-q",
                    "--no-verify",
                    "-m",
                    message,
                ],
            )
            .await?;
        Ok(true)
    }

    /// Keeps untracked files matching `pattern` out of the run's commits, through the
    /// repository's `info/exclude` (the mirror's, shared by its worktrees: all Burrow's).
    pub async fn exclude(&self, ws: &Workspace, pattern: &str) -> Result<(), String> {
        if ws.mirror.is_none() {
            return Ok(());
        }
        let path = self
            .git
            .run(&ws.work, &["rev-parse", "--git-path", "info/exclude"])
            .await?;
        let path = ws.work.join(path);
        let text = tokio::fs::read_to_string(&path).await.unwrap_or_default();
        if text.lines().any(|l| l == pattern) {
            return Ok(());
        }
        let text = format!(
            "{text}{}{pattern}\n",
            if text.ends_with('\n') || text.is_empty() {
                ""
            } else {
                "\n"
            }
        );
        let written = async {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::write(&path, text).await
        };
        written
            .await
            .map_err(|e| format!("Could not write {}: {e}", path.display()))
    }

    /// What the run's branch holds beyond its base.
    pub async fn changes(&self, ws: &Workspace) -> Result<Changes, String> {
        let Some(base) = &ws.base_commit else {
            return Ok(Changes::default());
        };
        let commit = self.git.run(&ws.work, &["rev-parse", "HEAD"]).await?;
        let mut changes = Changes {
            commit: Some(commit.clone()),
            ..Changes::default()
        };
        if commit == *base {
            return Ok(changes);
        }
        let numstat = self
            .git
            .run(&ws.work, &["diff", "--numstat", base, &commit])
            .await?;
        for line in numstat.lines().filter(|l| !l.is_empty()) {
            let mut cols = line.split('\t');
            changes.files_changed += 1;
            changes.insertions += cols.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            changes.deletions += cols.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        }
        changes.diff = self
            .git
            .bytes(&ws.work, &["diff", "--binary", base, &commit])
            .await?;
        Ok(changes)
    }

    /// Pushes the run's branch to the repository's source.
    pub async fn push(&self, ws: &Workspace) -> Result<(), String> {
        let Some(branch) = &ws.branch else {
            return Ok(());
        };
        self.git
            .run(
                &ws.work,
                &["push", "-q", "origin", &format!("{branch}:{branch}")],
            )
            .await
            .map(drop)
    }
}
