//! What a task row holds beside what a request gives: the validated changes to write, the
//! title derived from the description, and the slug prefix derived from the project's name.

/// Validated changes to a task (see `tasks::TaskChanges::parse`). `None` leaves a field
/// alone; for nullable fields `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub origin_product: Option<String>,
    pub repository: Option<Option<String>>,
    pub github_integration: Option<Option<i64>>,
    /// JSON text.
    pub json_schema: Option<Option<String>>,
    pub assignee: Option<Option<String>>,
}

/// The title a task shows: the given one, or else the description's first line (cut to 57
/// characters and `...` when longer than 60), or else "Untitled Task".
pub fn derive_title(title: &str, description: &str) -> String {
    if !title.trim().is_empty() {
        return title.to_string();
    }
    let first = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.is_empty() {
        return "Untitled Task".to_string();
    }
    if first.chars().count() > 60 {
        let cut: String = first.chars().take(57).collect();
        format!("{cut}...")
    } else {
        first.to_string()
    }
}

/// Three letters from the project's name: its first three capitals when it has three or
/// more, else its first three letters or digits upper-cased; `TSK` when nothing is left.
pub fn slug_prefix(name: &str) -> String {
    let kept: Vec<char> = name.chars().filter(|c| c.is_alphanumeric()).collect();
    let capitals: Vec<char> = kept.iter().copied().filter(|c| c.is_uppercase()).collect();
    let prefix: String = if capitals.len() >= 3 {
        capitals[..3].iter().collect()
    } else {
        kept.iter().take(3).flat_map(|c| c.to_uppercase()).collect()
    };
    if prefix.is_empty() {
        "TSK".to_string()
    } else {
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_prefixes_follow_the_contract() {
        assert_eq!(slug_prefix("Test Team"), "TES");
        assert_eq!(slug_prefix("PostHog"), "POS");
        assert_eq!(slug_prefix("my team"), "MYT");
        assert_eq!(slug_prefix("Default project"), "DEF");
        assert_eq!(slug_prefix("Acme Big Corp"), "ABC");
        assert_eq!(slug_prefix("--"), "TSK");
        assert_eq!(slug_prefix(""), "TSK");
    }

    #[test]
    fn titles_fall_back_to_the_description() {
        assert_eq!(derive_title("Mine", "x"), "Mine");
        assert_eq!(derive_title("", "Fix it\nmore"), "Fix it");
        assert_eq!(derive_title("  ", ""), "Untitled Task");
        let long = "a".repeat(61);
        assert_eq!(derive_title("", &long), format!("{}...", "a".repeat(57)));
        let sixty = "b".repeat(60);
        assert_eq!(derive_title("", &sixty), sixty);
    }
}
