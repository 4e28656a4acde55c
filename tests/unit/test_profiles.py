"""Machine profiles load and fit, and a machine described by hand is checked before it is used."""

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from wizard.datafiles import read_model
from wizard.errors import UsageError, WizardError
from wizard.fit.tiers import HOMESERVERS, fit, tier_rank
from wizard.paths import asset
from wizard.probe.facts import DiskKind
from wizard.probe.profile import Profile, describe_machine, list_profiles, load_profile
from wizard.units import GIB, parse_size

PROFILES = list_profiles()


def test_every_profile_file_is_listed() -> None:
    files = {path.stem for path in asset("profiles").glob("*.yaml")}
    assert files == {profile.name for profile in PROFILES}
    assert len(PROFILES) >= 5


def test_profiles_run_from_the_smallest_machine_to_the_largest() -> None:
    sizes = [(profile.ram, profile.cores, profile.disk) for profile in PROFILES]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize("profile", PROFILES, ids=[profile.name for profile in PROFILES])
def test_every_profile_loads_and_fits_like_the_same_machine_described_by_hand(
    profile: Profile,
) -> None:
    facts = load_profile(profile.name)
    assert facts.source == "profile"
    assert facts.effective_cores == profile.cores
    assert facts.effective_ram == profile.ram
    assert facts.disk.free == profile.disk
    assert facts.disk.kind is profile.disk_kind
    assert facts.cpu.arch == profile.arch
    same = describe_machine(profile.cores, profile.ram, profile.disk, profile.disk_kind)
    for name in HOMESERVERS:
        assert fit(facts, name).tier == fit(same, name).tier
    assert any(fit(facts, name).tier != "below-minimum" for name in HOMESERVERS)


def test_the_profiles_span_the_tiers() -> None:
    reached = {fit(load_profile(profile.name), "synapse").tier for profile in PROFILES}
    assert {"below-minimum", "production"} <= reached


def test_the_sd_card_pi_does_not_count_as_an_ssd() -> None:
    raw = asset("profiles/rpi4-4g-sd.yaml").read_text(encoding="utf-8")
    assert "SD card" in raw
    assert load_profile("rpi4-4g-sd").disk.kind is DiskKind.HDD


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        load_profile("mainframe")
    assert "mainframe" in caught.value.message
    for profile in PROFILES:
        assert profile.name in caught.value.hint


def test_the_cli_rejects_an_unknown_profile_with_the_list() -> None:
    result = run_cli("plan", "--profile", "mainframe")
    assert result.returncode == 2
    assert "mainframe" in result.stderr
    assert PROFILES[0].name in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_lists_profiles_as_json() -> None:
    result = run_cli("profiles", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [item["name"] for item in listed] == [profile.name for profile in PROFILES]
    assert listed[0]["ram"] == PROFILES[0].ram


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "name: Big Box\ndescription: x\ncores: 1\nram: 1 GB\ndisk: 1 GB\ndisk_kind: ssd\n",
            "name",
        ),
        ("name: box\ndescription: x\ncores: 0\nram: 1 GB\ndisk: 1 GB\ndisk_kind: ssd\n", "cores"),
        ("name: box\ndescription: x\ncores: 1\nram: much\ndisk: 1 GB\ndisk_kind: ssd\n", "ram"),
        ("name: box\ndescription: x\ncores: 1\nram: 1 GB\ndisk: 1 GB\ndisk_kind: tape\n", "kind"),
        ("name: box\ndescription: x\ncores: 1\nram: 1 GB\ndisk: 1 GB\ndisk_kind: ssd\nx: 1\n", "x"),
    ],
)
def test_a_broken_profile_is_a_clear_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "box.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WizardError) as caught:
        read_model(path, Profile)
    assert words in caught.value.message


def test_profile_sizes_are_powers_of_1024() -> None:
    small = next(profile for profile in PROFILES if profile.name == "vps-1g")
    assert small.ram == parse_size("1G") == GIB


# --- Described by hand -------------------------------------------------------------------------


def test_describe_machine_gives_manual_facts_with_free_disk() -> None:
    facts = describe_machine(2, 4 * GIB, 60 * GIB, DiskKind.SSD, "aarch64")
    assert facts.source == "manual"
    assert facts.effective_cores == 2
    assert facts.effective_ram == 4 * GIB
    assert facts.disk.free == 60 * GIB
    assert facts.disk.total is None
    assert facts.disk.kind is DiskKind.SSD
    assert facts.cpu.arch == "aarch64"


def test_describe_machine_without_a_disk_kind_leaves_it_unknown_with_a_reason() -> None:
    facts = describe_machine(8, 16 * GIB, 200 * GIB, DiskKind.UNKNOWN)
    assert facts.disk.kind is DiskKind.UNKNOWN
    assert facts.disk.kind_reason
    assert tier_rank(fit(facts, "synapse").tier) == 3


@pytest.mark.parametrize(
    ("cpus", "ram", "disk", "words"),
    [
        (0, GIB, GIB, "CPU cores"),
        (-1, GIB, GIB, "CPU cores"),
        (1, 0, GIB, "RAM"),
        (1, -GIB, GIB, "RAM"),
        (1, GIB, 0, "free disk"),
        (1, GIB, -5, "free disk"),
        (True, GIB, GIB, "CPU cores"),
    ],
)
def test_describe_machine_refuses_zero_and_negative(
    cpus: int, ram: int, disk: int, words: str
) -> None:
    with pytest.raises(UsageError) as caught:
        describe_machine(cpus, ram, disk, DiskKind.SSD)
    assert words in caught.value.message
    assert caught.value.hint
