//! The workspace README's Rust examples are the ones crm-core's crate page runs as doc tests:
//! this fails when a README example is not, word for word, one of the crate page's, so the
//! README cannot show code that does not compile and run.

fn rust_blocks(markdown: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```rust") {
        let after = &rest[start..];
        let body_start = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = &after[body_start..];
        let end = body.find("```").unwrap_or(body.len());
        blocks.push(&body[..end]);
        rest = &body[end..];
        rest = rest.get(3..).unwrap_or("");
    }
    blocks
}

#[test]
fn readme_examples_are_the_doc_tested_ones() {
    let crate_page = include_str!("../README.md");
    let workspace = include_str!("../../README.md");
    let tested = rust_blocks(crate_page);
    let shown = rust_blocks(workspace);
    assert!(
        !shown.is_empty(),
        "the workspace README lost its embedding example"
    );
    for block in shown {
        assert!(
            tested.contains(&block),
            "this Rust block of README.md is not one crm-core/README.md runs as a doc test \
             (copy it there, or make the two the same):\n{block}"
        );
    }
}

#[test]
fn no_rust_block_is_left_untested() {
    let workspace = include_str!("../../README.md");
    for marker in ["```rust,ignore", "```rust,no_run", "```ignore"] {
        assert!(
            !workspace.contains(marker),
            "README.md has a {marker} block"
        );
    }
}
