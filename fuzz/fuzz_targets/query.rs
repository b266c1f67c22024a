//! The Query protocol's form/query decoder, then everything made of its parameters before and
//! after authentication: the audit record's `requestParameters` and resources, and the typed
//! input of one operation (botocore's validation included), chosen by the first byte.
#![no_main]

use keyward_core::ops::OpName;
use keyward_server::form::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, form)) = data.split_first() else {
        return;
    };
    let Ok(params) = Params::parse(form) else {
        return;
    };
    let _ = keyward_core::audit::request_parameters(params.iter());
    let _ = keyward_core::trail::resources(&params);
    let op = OpName::ALL[usize::from(*which) % OpName::ALL.len()];
    let _ = keyward_core::ops::Operation::decode(op, &params);
});
