#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| user_sync_fuzz::patch_path(data));
