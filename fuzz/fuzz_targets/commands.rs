//! Arbitrary bytes as calls of every family on the three profiles (see
//! `switchboard::fuzz::commands`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    switchboard::fuzz::commands(data);
});
