#!/usr/bin/env python3
"""The minimum supported Rust version implied by Cargo.lock: the highest `rust-version` declared
by the locked packages, over everything the workspace builds (dev-dependencies included, as
`cargo test` needs them) and over what the library alone needs (normal and build dependencies,
what a dependent builds). Run from the repository root after `cargo update`; the first number is
what Cargo.toml's `rust-version` should say. Packages that declare no `rust-version` (old,
edition ≤ 2021 crates) only bound it from below and are counted, not guessed."""

import json
import subprocess


def version_key(v):
    return tuple(int(x) for x in v.split("."))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    members = set(meta["workspace_members"])

    def closure(with_dev):
        seen, stack = set(), list(members)
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            for dep in nodes[pid]["deps"]:
                kinds = {k["kind"] for k in dep["dep_kinds"]}
                # Dev-dependencies count only for the workspace's own crates.
                if with_dev and pid in members or kinds != {"dev"}:
                    stack.append(dep["pkg"])
        return seen

    for label, with_dev in [("workspace (cargo test)", True), ("library alone", False)]:
        # The workspace's own crates declare the answer, so they do not count.
        ids = closure(with_dev) - members
        declared = [packages[i] for i in ids if packages[i].get("rust_version")]
        top = max(version_key(p["rust_version"]) for p in declared)
        needing = sorted(
            f'{p["name"]} {p["version"]}'
            for p in declared
            if version_key(p["rust_version"]) == top
        )
        print(
            f'{label}: {".".join(map(str, top))} ({", ".join(needing)}); '
            f"{len(ids) - len(declared)} of {len(ids)} packages declare none"
        )


if __name__ == "__main__":
    main()
