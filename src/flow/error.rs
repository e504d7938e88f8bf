//! A problem in a flow file, with its place: what `solidaire flows check` and a refused
//! reload report.

use std::fmt;
use std::path::PathBuf;

/// One problem in one flow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when the problem is the folder itself).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, and how to mend it when that is not obvious.
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)
        }
    }
}
