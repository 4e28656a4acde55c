import pytest

from wizard import validators

CYRILLIC_A = "\u0430"
LOOKALIKE = f"ex{CYRILLIC_A}mple.org"  # looks like example.org
FULLWIDTH_EXAMPLE = "".join(chr(ord(letter) + 0xFEE0) for letter in "example")
MIXED_SCRIPTS = (
    f"'ex{CYRILLIC_A}mple' mixes Latin letters with Cyrillic '{CYRILLIC_A}' (U+0430), "
    "as look-alike names do: check that this is the name you mean"
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("example.com", "example.com"),
        ("example.com:8448", "example.com:8448"),
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:1234", "1.2.3.4:1234"),
        ("[1234:5678::abcd]", "[1234:5678::abcd]"),
        ("[1234:5678::ABCD]:5678", "[1234:5678::abcd]:5678"),
        ("Example.COM", "example.com"),
        ("matrix.example.com.", "matrix.example.com"),
        ("ß.example", "xn--zca.example"),
        (FULLWIDTH_EXAMPLE + ".com", "example.com"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
    ],
)
def test_server_names_the_spec_allows(given: str, expected: str) -> None:
    name, _ = validators.normalise_server_name(given)
    assert name == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "localhost",
        "ex ample.com",
        "example.com:0",
        "example.com:65536",
        "example.com:http",
        "-bad.example.com",
        "bad-.example.com",
        "300.1.1.1",
        "[not:an:ip]",
        "[::1]x",
        "exa_mple.com",
        "example.com;rm -rf",
        "a" * 64 + ".com",
        "example.com}",
        "bü cher.example",
        "xn--abc.example",
    ],
)
def test_server_names_the_spec_refuses(given: str) -> None:
    with pytest.raises(ValueError):
        validators.normalise_server_name(given)


def test_a_sharp_s_keeps_its_own_domain_as_browsers_read_it() -> None:
    name, notes = validators.normalise_server_name("ß.example")
    assert name == "xn--zca.example"
    assert notes == ["'ß.example' is written in its ASCII form 'xn--zca.example'"]


def test_a_name_mixing_scripts_is_warned_about_first() -> None:
    name, notes = validators.normalise_server_name(LOOKALIKE)
    assert name == "xn--exmple-4nf.org"
    assert notes == [
        MIXED_SCRIPTS,
        f"{LOOKALIKE!r} is written in its ASCII form 'xn--exmple-4nf.org'",
    ]


def test_a_name_mixing_scripts_in_its_ascii_form_is_warned_about_too() -> None:
    _, notes = validators.to_ascii_hostname("xn--exmple-4nf.org")
    assert notes == [MIXED_SCRIPTS]


@pytest.mark.parametrize("name", ["пример.рф", "例え.テスト", "bücher.example", "한국.example"])
def test_scripts_written_together_are_not_warned_about(name: str) -> None:
    _, notes = validators.to_ascii_hostname(name)
    assert not any("mixes" in note for note in notes)


def test_upper_case_is_lowered_and_the_person_told() -> None:
    name, notes = validators.normalise_server_name("Example.Com")
    assert name == "example.com"
    assert notes == ["'Example.Com' was written in lower case as 'example.com'"]


def test_internationalised_name_becomes_ascii_and_the_person_told() -> None:
    name, notes = validators.normalise_server_name("bücher.example:8448")
    assert name == "xn--bcher-kva.example:8448"
    assert any("ASCII form" in note for note in notes)


def test_server_name_host_drops_port_and_brackets() -> None:
    assert validators.server_name_host("example.com:8448") == "example.com"
    assert validators.server_name_host("[::1]:8448") == "::1"
    assert validators.server_name_host("example.com") == "example.com"


@pytest.mark.parametrize("bad", ["relative/path", "/a/../b", "/a b", "/a;b", "/a//b", "/a$b"])
def test_paths_must_be_absolute_and_plain(bad: str) -> None:
    with pytest.raises(ValueError):
        validators.check_absolute_path(bad)


def test_email_and_url() -> None:
    assert validators.check_email("admin@example.com") == "admin@example.com"
    with pytest.raises(ValueError):
        validators.check_email("admin@example")
    assert validators.check_email("admin@xn--e1afmkfd.xn--p1ai") == "admin@xn--e1afmkfd.xn--p1ai"
    assert validators.check_url("https://s3.example.com:9000/x") == "https://s3.example.com:9000/x"
    with pytest.raises(ValueError):
        validators.check_url("ftp://s3.example.com")
