//! The one home of a run: its vocabulary (`Status`, `Environment`), the rules of its fields,
//! how its status moves (`lifecycle`), and the operations handlers and background jobs call
//! (`Runs`). Each operation announces its webhook events inside its write and wakes the
//! run's live streams once that write has committed, so no caller can forget either.

mod ending;
mod event_ids;
mod ingest;
pub mod lifecycle;
mod ops;
mod rules;
mod status;

pub use ending::Before;
pub use ingest::{
    EventLine, Ingested, LATEST_MESSAGE_KEY, LLM_USAGE_KEY, RELAY_ID_MAX_CHARS,
    RELAY_TEXT_MAX_CHARS, Relay, parse_event_line,
};
pub use ops::{Claimed, Runs};
pub use rules::{
    BRANCH_MAX_CHARS, OUTPUT_MAX_BYTES, RunChanges, STAGE_MAX_CHARS, STATE_MAX_BYTES, new_run,
    parse_new, parse_output, validate_output,
};
pub use status::{ENVIRONMENTS, Environment, STATUSES, Status, TERMINAL, is_terminal};
