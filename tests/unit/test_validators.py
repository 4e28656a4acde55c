import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.answers import validators

CYRILLIC_A = "\u0430"
LOOKALIKE = f"ex{CYRILLIC_A}mple.org"  # looks like example.org
FULLWIDTH_EXAMPLE = "".join(chr(ord(letter) + 0xFEE0) for letter in "example")
MIXED_SCRIPTS = (
    f"'ex{CYRILLIC_A}mple' mixes Latin letters with Cyrillic '{CYRILLIC_A}' (U+0430), "
    "as look-alike names do: check that this is the name you mean"
)
LONGEST_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
IP_REASON = (
    "this wizard serves a domain name, such as example.com, "
    "since an IP server name gets no delegation and no ACME certificate"
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("example.com", "example.com"),
        ("example.com:8448", "example.com:8448"),
        ("Example.COM", "example.com"),
        ("matrix.example.com.", "matrix.example.com"),
        ("ß.example", "xn--zca.example"),
        (FULLWIDTH_EXAMPLE + ".com", "example.com"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        (LONGEST_HOST, LONGEST_HOST),
        (LONGEST_HOST[:-5] + ":8448", LONGEST_HOST[:-5] + ":8448"),
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
        "example.com:\u00b2",  # a superscript two, which str.isdigit() takes for a digit
        "example.com:\u0668\u0664\u0664\u0668",  # 8448 in Arabic-Indic digits
        "-bad.example.com",
        "bad-.example.com",
        "exa_mple.com",
        "example.com;rm -rf",
        "example.com}",
        "bü cher.example",
    ],
)
def test_server_names_the_spec_refuses(given: str) -> None:
    with pytest.raises(ValueError):
        validators.normalise_server_name(given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "[::1]:8448",
            f"'[::1]:8448' is a loopback address, which only this machine can reach; {IP_REASON}",
        ),
        ("::1", f"'::1' is a loopback address, which only this machine can reach; {IP_REASON}"),
        (
            "192.168.1.1",
            "'192.168.1.1' is a private IP address, which other servers cannot reach to federate; "
            + IP_REASON,
        ),
        ("[2a00:1450::1]", f"'[2a00:1450::1]' is an IP address; {IP_REASON}"),
        ("8.8.8.8:8448", f"'8.8.8.8:8448' is an IP address; {IP_REASON}"),
        ("[::1", "'[::1' has a '[' with no closing ']'; use a domain name, such as example.com"),
        (
            "[not:an:ip]",
            "'[not:an:ip]' holds no IPv6 address in its brackets; "
            "use a domain name, such as example.com",
        ),
        (
            "300.1.1.1",
            "'300.1.1.1' is not a valid IP address, nor a domain name; "
            "use a domain name, such as example.com",
        ),
        (
            "a:b:c",
            "'a:b:c' has more than one ':'; a server name is a domain with an optional port, "
            "such as example.com:8448",
        ),
    ],
)
def test_ip_addresses_are_refused_with_the_reason(given: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        validators.normalise_server_name(given)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "https://example.org",
            "'https://example.org' is a URL: drop the scheme and write 'example.org'",
        ),
        (
            "https://example.org:8448/_matrix/",
            "'https://example.org:8448/_matrix/' is a URL: drop the scheme and the path, "
            "and write 'example.org:8448'",
        ),
        ("https://", "'https://' is a URL: drop the scheme and write the domain alone"),
        (
            "@me:example.org",
            "'@me:example.org' is a user ID: the server name is the part after the colon, "
            "'example.org'",
        ),
        (
            "#room:example.org:8448",
            "'#room:example.org:8448' is a room alias: the server name is the part after the "
            "colon, 'example.org:8448'",
        ),
        (
            "example.org/",
            "'example.org/' has a '/': a server name has no path; write 'example.org'",
        ),
    ],
)
def test_urls_and_matrix_ids_are_refused_with_the_server_name_they_hold(
    given: str, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        validators.normalise_server_name(given)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            LONGEST_HOST + "d",
            f"{LONGEST_HOST[:40]!r}... (254 characters) is too long: "
            "a DNS name has at most 253 characters",
        ),
        (
            "x" * 256,
            f"{'x' * 40!r}... (256 characters) is too long: "
            "the Matrix spec allows a server name of at most 255 characters",
        ),
        (
            "a" * 64 + ".com",
            f"{'a' * 40!r}... (68 characters) has a part too long, "
            f"{'a' * 40!r}... (64 characters): each part between dots has at most 63 characters",
        ),
        ("a..example", "'a..example' has an empty part between dots; remove the extra dot"),
        (
            "xn--abc.example",
            "'xn--abc.example' has 'xn--abc', which is not a valid internationalised part "
            "(xn-- and its Punycode); check its spelling",
        ),
        (
            "bü cher.example",
            "'bü cher.example' is not a valid internationalised domain name; check its spelling",
        ),
        ("", "a server name is needed, such as example.com"),
        (":8448", "':8448' has no domain before its port; use a domain name, such as example.com"),
        (
            "\u00ad",  # a soft hyphen, which UTS-46 leaves out
            r"'\xad' is not a valid internationalised domain name; check its spelling",
        ),
    ],
)
def test_each_length_and_spelling_problem_has_its_own_line(given: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        validators.normalise_server_name(given)
    assert str(refused.value) == message


def test_a_dns_name_may_have_253_characters_and_no_more() -> None:
    assert validators.check_dns_name(LONGEST_HOST + ".") == LONGEST_HOST
    with pytest.raises(
        ValueError, match=r"\(254 characters\) is too long: a DNS name has at most 253 characters$"
    ):
        validators.check_dns_name("x" + LONGEST_HOST)


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


def test_server_name_host_drops_the_port() -> None:
    assert validators.server_name_host("example.com:8448") == "example.com"
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


name_pieces = st.sampled_from(
    ["example", "matrix", ".", ":", "[", "]", "::1", "8448", "@", "#", "/", "https://", "xn--", "-"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(name_pieces | st.text(max_size=4), max_size=8).map("".join))
def test_every_refusal_is_one_line_that_names_what_it_refuses(text: str) -> None:
    try:
        name, _ = validators.normalise_server_name(text)
    except ValueError as error:
        message = str(error)
        assert "\n" not in message
        assert message[0] in "'\"" or message.startswith("a server name is needed"), message
    else:
        assert name.isascii() and name == name.lower()


@pytest.mark.parametrize("text", ["²", "٨٤٤٨", "0", "65536", "-1", "", " 22", "9" * 5000])
def test_a_port_is_ascii_digits_from_1_to_65535(text: str) -> None:
    assert not validators.is_port(text)
    with pytest.raises(ValueError, match=r"is not a port: use a number from 1 to 65535$"):
        validators.parse_port(text)


@pytest.mark.parametrize("text", ["1", "22", "8448", "65535"])
def test_a_port_is_read_as_its_number(text: str) -> None:
    assert validators.parse_port(text) == int(text)
