//! The policy parser (IAM's validation and compilation), for each kind of policy; the first
//! byte chooses the kind.
#![no_main]

use keyward_policy::PolicyKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((kind, json)) = data.split_first() else {
        return;
    };
    let kind = match kind % 5 {
        0 => PolicyKind::Identity,
        1 => PolicyKind::Resource,
        2 => PolicyKind::Trust,
        3 => PolicyKind::ServiceControl,
        _ => PolicyKind::Boundary,
    };
    if let Ok(json) = std::str::from_utf8(json) {
        let _ = keyward_policy::Policy::parse(json, kind, "fuzz");
    }
});
