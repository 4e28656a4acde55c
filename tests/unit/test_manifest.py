import json
from pathlib import Path

import pytest

from wizard.bundle.model import EXECUTABLE, PRIVATE, PUBLIC
from wizard.deliver.manifest import (
    MANIFEST_FILE,
    ManifestEntry,
    is_bundle_path,
    manifest_text,
    mismatched_paths,
    parse_manifest,
    read_manifest,
    sha256_hex,
    verify_bundle,
)
from wizard.errors import WizardError

DIGEST_A = sha256_hex(b"a\n")
DIGEST_B = sha256_hex(b"b\n")


def test_sha256_hex_is_the_standard_digest() -> None:
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("README.md", True),
        ("synapse/homeserver.yaml", True),
        ("well-known/matrix/server", True),
        ("", False),
        ("/etc/passwd", False),
        ("../outside", False),
        ("a/../b", False),
        ("./a", False),
        ("a//b", False),
        ("a/", False),
        ("a\\b", False),
    ],
)
def test_is_bundle_path_keeps_paths_inside_the_folder(path: str, allowed: bool) -> None:
    assert is_bundle_path(path) is allowed


def test_manifest_text_is_sorted_and_independent_of_insertion_order() -> None:
    one = {"b.txt": ManifestEntry(DIGEST_B, PUBLIC), "a.sh": ManifestEntry(DIGEST_A, EXECUTABLE)}
    other = dict(reversed(list(one.items())))
    text = manifest_text(one)
    assert text == manifest_text(other)
    assert text.endswith("\n")
    data = json.loads(text)
    assert list(data["files"]) == ["a.sh", "b.txt"]
    assert data["files"]["a.sh"] == {"mode": "0755", "sha256": DIGEST_A}


def test_manifest_round_trips_through_its_text() -> None:
    entries = {
        "secrets.yaml": ManifestEntry(DIGEST_A, PRIVATE),
        "apply.sh": ManifestEntry(DIGEST_B, EXECUTABLE),
    }
    assert parse_manifest(manifest_text(entries).encode(), "test") == entries


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "not a matrix-wizard manifest"),
        (b'{"format": 2, "files": {}}', "not a matrix-wizard manifest"),
        (b'{"format": 1}', "not a matrix-wizard manifest"),
        (
            b'{"format": 1, "files": {"../x": {"sha256": "'
            + DIGEST_A.encode()
            + b'", "mode": "0644"}}}',
            "not a relative path",
        ),
        (b'{"format": 1, "files": {"x": {"sha256": "abc", "mode": "0644"}}}', "no valid sha256"),
        (
            b'{"format": 1, "files": {"x": {"sha256": "'
            + DIGEST_A.encode()
            + b'", "mode": "644"}}}',
            "no valid mode",
        ),
        (
            b'{"format": 1, "files": {"x": {"sha256": "'
            + DIGEST_A.encode()
            + b'", "mode": "0988"}}}',
            "no valid mode",
        ),
    ],
)
def test_parse_manifest_refuses_bad_content_with_a_way_out(content: bytes, words: str) -> None:
    with pytest.raises(WizardError) as caught:
        parse_manifest(content, "/b/.manifest.json")
    assert words in caught.value.message
    assert "/b/.manifest.json" in caught.value.message
    assert "delete it" in caught.value.hint


def test_read_manifest_is_none_for_a_folder_without_one(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) is None


def test_mismatched_paths_lists_changed_and_missing_files() -> None:
    manifest = {
        "same": ManifestEntry(DIGEST_A, PUBLIC),
        "changed": ManifestEntry(DIGEST_A, PUBLIC),
        "missing": ManifestEntry(DIGEST_A, PUBLIC),
        "gone": ManifestEntry(DIGEST_A, PUBLIC),
    }
    digests = {"same": DIGEST_A, "changed": DIGEST_B, "gone": None, "extra": DIGEST_B}
    assert mismatched_paths(manifest, digests) == ["changed", "gone", "missing"]


def _bundle_folder(root: Path) -> Path:
    (root / "sub").mkdir()
    (root / "a.txt").write_bytes(b"a\n")
    (root / "sub" / "b.txt").write_bytes(b"b\n")
    entries = {
        "a.txt": ManifestEntry(DIGEST_A, PUBLIC),
        "sub/b.txt": ManifestEntry(DIGEST_B, PUBLIC),
    }
    (root / MANIFEST_FILE).write_text(manifest_text(entries))
    return root


def test_verify_bundle_is_empty_for_an_untouched_folder(tmp_path: Path) -> None:
    assert verify_bundle(_bundle_folder(tmp_path)) == []


def test_verify_bundle_names_edited_missing_and_replaced_files(tmp_path: Path) -> None:
    folder = _bundle_folder(tmp_path)
    (folder / "a.txt").write_bytes(b"edited\n")
    (folder / "sub" / "b.txt").unlink()
    assert verify_bundle(folder) == ["a.txt", "sub/b.txt"]
    (folder / "sub" / "b.txt").symlink_to(folder / "a.txt")
    assert verify_bundle(folder) == ["a.txt", "sub/b.txt"]


def test_verify_bundle_needs_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as caught:
        verify_bundle(tmp_path)
    assert MANIFEST_FILE in caught.value.message
