//! Arbitrary bytes as a scenario file (see `switchboard::fuzz::scenario`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    switchboard::fuzz::scenario(data);
});
