//! Cost of a console password hash and verification (argon2id, parameters in `core::password`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core::password::{hash_password, verify_password};

fn bench(c: &mut Criterion) {
    let hash = hash_password("Corr3ct-Horse-Battery").unwrap();
    let mut g = c.benchmark_group("password");
    g.sample_size(10);
    g.bench_function("hash", |b| {
        b.iter(|| hash_password("Corr3ct-Horse-Battery").unwrap())
    });
    g.bench_function("verify", |b| {
        b.iter(|| verify_password(&hash, "Corr3ct-Horse-Battery"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
