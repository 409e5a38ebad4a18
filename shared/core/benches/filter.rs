//! SCIM filter parsing: the filters identity providers send, one at a time
//! and as a mix. Run with `cargo bench -p user-sync-core --bench filter`
//! (see docs/performance.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use user_sync_core::scim::filter::parse_filter;

/// (name, filter): what Okta, Entra ID and others send before a create, a
/// group sync, a membership check, plus a compound one.
const FILTERS: [(&str, &str); 5] = [
    ("user_name_eq", r#"userName eq "ada@example.com""#),
    ("external_id_eq", r#"externalId eq "00u1abcd""#),
    ("display_name_eq", r#"displayName eq "Sales EMEA""#),
    (
        "members_value_eq",
        r#"id eq "0f3c6a52b8e14d7f9a21c4b5d6e7f801" and members[value eq "9b2e4d6f8a1c3e5b7d9f1a3c5e7b9d1f"]"#,
    ),
    (
        "compound_and_or",
        r#"userName eq "ada@example.com" and (active eq true or emails[type eq "work" and value eq "ada@example.com"])"#,
    ),
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_filter");
    group.throughput(Throughput::Elements(1));
    for (name, filter) in FILTERS {
        parse_filter(filter).unwrap();
        group.bench_function(name, |b| b.iter(|| parse_filter(black_box(filter))));
    }
    // the five above, one after another: the mix's throughput counts filters
    group.throughput(Throughput::Elements(FILTERS.len() as u64));
    group.bench_function("typical_mix", |b| {
        b.iter(|| {
            for (_, filter) in FILTERS {
                black_box(parse_filter(black_box(filter)).ok());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
