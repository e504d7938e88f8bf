//! The WAV reader of prompt uploads: any file is refused with a reason or converted into
//! the telephone format, whose length is the one reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solidaire::sounds::wav;

fuzz_target!(|file: &[u8]| {
    if let Ok((phone, seconds)) = wav::prepare(file) {
        assert!(wav::is_telephone_format(&phone));
        let read = wav::seconds(&phone).expect("a converted file reads back");
        assert!((read - seconds).abs() < 0.01, "{read} s read back, {seconds} s reported");
    }
    let _ = wav::seconds(file);
});
