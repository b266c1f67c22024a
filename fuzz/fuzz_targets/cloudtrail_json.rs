//! The JSON 1.1 protocol's `LookupEvents` body: members, `requestParameters` and the query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keyward_server::decode_lookup_body(data);
});
