//! The flow loader: any text is a flow or a list of problems, each at a line of the file
//! with a message.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use solidaire::flow::load::from_sources;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(errors) = from_sources(&[(PathBuf::from("line.toml"), text.to_owned())]) {
        assert!(!errors.is_empty());
        for e in errors {
            assert!(e.line <= text.lines().count() + 1, "{e}");
            assert!(!e.message.is_empty(), "{e}");
        }
    }
});
