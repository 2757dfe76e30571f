#!/usr/bin/env python3
"""The MSRV check, without a second toolchain.

Only one Rust toolchain exists on the CI machines and none can be downloaded, so the stated
minimum (`rust-version` in the root Cargo.toml's [workspace.package]) cannot be proven by
building with that toolchain. Two checks stand in for it:

1. this script: every package of the resolved graph (all features, every platform) that
   declares a `rust-version` declares one no newer than ours, and every workspace member
   inherits ours. A dependency update that needs a newer compiler fails here;
2. clippy's `incompatible_msrv` lint (warn by default, denied by `-D warnings` in .ci/run):
   it reads `rust-version` and flags any use of a standard-library API stabilised after it.

What neither catches: language features stabilised after the MSRV, and dependencies that
need a newer compiler without saying so in their `rust-version`.
"""

import json
import pathlib
import subprocess
import sys
import tomllib


def version(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


root = pathlib.Path(__file__).resolve().parent.parent
ours = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["package"]["rust-version"]
metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
members = set(metadata["workspace_members"])
problems = []
for package in metadata["packages"]:
    needed = package.get("rust_version")
    if package["id"] in members:
        if needed is None or version(needed) != version(ours):
            problems.append(f"{package['name']} (a workspace member) states rust-version {needed}, not the workspace's {ours}")
    elif needed is not None and version(needed) > version(ours):
        problems.append(f"{package['name']} {package['version']} needs Rust {needed}, newer than our {ours}")

checked = sum(1 for p in metadata["packages"] if p.get("rust_version"))
if problems:
    print("MSRV check failed:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"MSRV {ours}: {checked} of {len(metadata['packages'])} packages state a rust-version, none newer")
