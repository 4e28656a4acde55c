"""The matrix-wizard command line: the wizard on screen by default, and one command per step."""

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from wizard import __version__
from wizard.errors import UsageError, WizardError

if TYPE_CHECKING:
    from wizard.deliver.remote import LocalBundle
    from wizard.probe.facts import HostFacts
    from wizard.ssh.connection import SshConnection
    from wizard.verify.doctor import DoctorResult

# The choices of --homeserver, spelt out so that `--help` needs no import of the answers model.
HOMESERVERS = ("synapse", "dendrite", "conduit", "continuwuity", "tuwunel")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line with the way out, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _print_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _cmd_detect(args: argparse.Namespace) -> int:
    if args.ssh:
        return _cmd_detect_ssh(args)
    from wizard.probe.local import probe_local

    facts = probe_local(data_path=args.data_path, measure_disk=args.measure_disk)
    return _show_facts_and_fits(facts, args.homeserver, args.json)


def _ssh_connect(args: argparse.Namespace) -> "SshConnection":
    """Connect to the --ssh target with the connection flags, asking at the terminal if needed."""
    from pathlib import Path

    from wizard.ssh import terminal_prompts
    from wizard.ssh.connection import ConnectOptions, connect
    from wizard.ssh.target import resolve_target
    from wizard.ssh.timeouts import Timeouts

    target = resolve_target(
        args.ssh,
        port=args.port,
        identity=Path(args.identity) if args.identity else None,
    )
    options = ConnectOptions(
        timeouts=Timeouts(args.connect_timeout, args.banner_timeout, args.auth_timeout),
        accept_host_key=args.accept_host_key,
        confirm_host_key=terminal_prompts.confirm_host_key,
        ask_secret=terminal_prompts.ask_secret,
    )
    connection = connect(target, options)
    for notice in connection.notices:
        print(notice, file=sys.stderr)
    return connection


def _cmd_detect_ssh(args: argparse.Namespace) -> int:
    from wizard.probe.remote_snapshot import probe_ssh

    if args.measure_disk:
        raise UsageError("--measure-disk times this machine's disk only", "leave it out with --ssh")
    with _ssh_connect(args) as connection:
        facts = probe_ssh(connection, data_path=args.data_path)
    return _show_facts_and_fits(facts, args.homeserver, args.json)


def _print_output(stream: str, text: str) -> None:
    """Show a piece of remote output on the matching local stream, at once."""
    out = sys.stderr if stream == "stderr" else sys.stdout
    out.write(text)
    out.flush()


def _cmd_apply(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wizard.deliver.remote import read_local_bundle
    from wizard.deliver.targets import writer_lock

    folder = Path(args.bundle)
    with contextlib.ExitStack() as held:
        if folder.is_dir() and not args.dry_run:
            # A generate into this folder while it is read and sent would mix two bundles.
            held.enter_context(writer_lock(folder))
        return _apply_bundle(args, read_local_bundle(folder))


def _apply_bundle(args: argparse.Namespace, bundle: "LocalBundle") -> int:
    """Upload a read bundle to the --ssh target under its lock and run its apply.sh there."""
    from wizard.deliver.remote import describe_dry_run, run_apply, survey_remote, upload_bundle
    from wizard.deliver.remote_lock import remote_lock
    from wizard.units import counted, format_size

    remote_dir = args.remote_dir or f"~/{bundle.folder.resolve().name}"
    with _ssh_connect(args) as connection:
        if args.dry_run:
            print(describe_dry_run(connection, bundle, survey_remote(connection, remote_dir)))
            return 0
        with remote_lock(connection, remote_dir) as lock_notices:
            for notice in lock_notices:
                print(notice, file=sys.stderr)
            result = upload_bundle(connection, bundle, remote_dir)
            print(
                f"Uploaded {counted(result.files, 'file')} ({format_size(result.size)}) to "
                f"{connection.target}:{result.state.target}, checked and swapped in.",
                file=sys.stderr,
            )
            for notice in result.notices:
                print(notice, file=sys.stderr)
            return run_apply(connection, result.state, _print_output)


def _cmd_plan(args: argparse.Namespace) -> int:
    from wizard.probe.profile import describe_machine, load_profile

    if args.profile:
        if any(value is not None for value in (args.cpus, args.ram, args.disk)):
            raise UsageError(
                "--profile cannot be combined with --cpus, --ram or --disk",
                "give either a profile or the machine's figures",
            )
        facts = load_profile(args.profile)
    else:
        missing = [
            flag
            for flag, value in (("--cpus", args.cpus), ("--ram", args.ram), ("--disk", args.disk))
            if value is None
        ]
        if missing:
            raise UsageError(
                f"describe the machine: {', '.join(missing)} missing",
                "for example --cpus 2 --ram 4G --disk 60G --ssd, or --profile NAME "
                "(matrix-wizard profiles lists them)",
            )
        facts = describe_machine(args.cpus, args.ram, args.disk, args.disk_kind)
    shown = _show_facts_and_fits(facts, args.homeserver, args.json, args.matrix_rtc, args.mas)
    _show_sqlite_move(args.homeserver, args.json)
    return shown


def _show_sqlite_move(homeserver: str | None, as_json: bool) -> None:
    """Say what moving an existing SQLite database to PostgreSQL costs, for Synapse."""
    import textwrap

    from wizard.answers.model import DatabaseKind, Homeserver
    from wizard.bundle.migrate import move_cost

    if homeserver not in (None, Homeserver.SYNAPSE.value) or as_json:
        return
    cost = move_cost(Homeserver.SYNAPSE, DatabaseKind.POSTGRESQL)
    print()
    print(textwrap.fill(f"Moving Synapse from SQLite to PostgreSQL: {cost}", width=78))


def _show_facts_and_fits(
    facts: "HostFacts",
    homeserver: str | None,
    as_json: bool,
    matrix_rtc: bool = False,
    mas: bool = False,
) -> int:
    from wizard.fit import report, tiers
    from wizard.fit.extras import extra_load

    names = [homeserver] if homeserver else list(HOMESERVERS)
    fits = [
        tiers.fit(facts, name, extra_load(name, matrix_rtc=matrix_rtc, mas=mas)) for name in names
    ]
    recommendation = tiers.recommend(facts)
    if as_json:
        _print_json(
            {
                "facts": facts.model_dump(mode="json"),
                "fits": [fit.model_dump(mode="json") for fit in fits],
                "recommendation": recommendation.model_dump(mode="json"),
            }
        )
    else:
        print(report.facts_table(facts))
        print()
        for fit in fits:
            print(report.fit_table(fit))
            print()
        print(report.recommendation_text(recommendation))
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from wizard.fit import report
    from wizard.probe.profile import list_profiles

    profiles = list_profiles()
    if args.json:
        _print_json([profile.model_dump(mode="json") for profile in profiles])
    else:
        print(report.profiles_table(profiles))
    return 0


def _cmd_hardware(args: argparse.Namespace) -> int:
    from wizard.fit import report, tiers

    need = tiers.hardware_for(args.homeserver, args.tier)
    if args.json:
        _print_json(need.model_dump(mode="json"))
    else:
        print(report.hardware_text(need))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from wizard.answers.model import answers_schema

    _print_json(answers_schema())
    return 0


def _apply_setting(data: dict[str, object], setting: str) -> None:
    """Set one ``section.key=value`` in answers data; the value is read as YAML (true, 8448)."""
    import yaml

    from wizard import yaml_input
    from wizard.errors import quoted

    path, equals, raw = setting.partition("=")
    keys = path.split(".")
    if not equals or not all(keys):
        raise UsageError(
            f"--set {setting!r} is not section.key=value",
            "for example --set calls.turn=true or --set proxy.acme_email=me@example.com",
        )
    try:
        value = yaml_input.parse(raw, f"--set {quoted(setting)}") if raw else ""
    except yaml.YAMLError:
        value = raw
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise UsageError(f"--set {setting!r}: {key} is not a section", "check the path")
        node = child
    node[keys[-1]] = value


def _cmd_answers(args: argparse.Namespace) -> int:
    from wizard.answers.model import dump_answers, parse_answers, warnings

    data: dict[str, object] = {
        "homeserver": {"kind": args.homeserver},
        "domain": {"server_name": args.server_name},
    }
    if args.database:
        data["database"] = {"kind": args.database}
    if args.proxy:
        data["proxy"] = {"kind": args.proxy}
    for setting in args.set:
        _apply_setting(data, setting)
    answers, notices = parse_answers(data)
    for line in notices:
        print(f"note: {line}", file=sys.stderr)
    for line in warnings(answers):
        print(f"warning: {line}", file=sys.stderr)
    sys.stdout.write(dump_answers(answers))
    return 0


def _tell(line: str) -> None:
    """Show one line about the run's progress on standard error, at once."""
    print(line, file=sys.stderr, flush=True)


def _cmd_generate(args: argparse.Namespace) -> int:
    from contextlib import AbstractContextManager, nullcontext
    from functools import partial
    from pathlib import Path

    from wizard.answers.model import load_answers_file, parse_answers, tuned_facts, warnings
    from wizard.answers.secret_store import load_secrets, redact
    from wizard.bundle.render import render
    from wizard.deliver import targets

    answers, notices = load_answers_file(Path(args.answers))
    if args.prefix is not None:
        data = answers.model_dump(mode="json")
        data["deployment"]["prefix"] = args.prefix
        answers, _ = parse_answers(data)
    for line in notices:
        print(f"note: {line}", file=sys.stderr)
    for line in warnings(answers):
        print(f"warning: {line}", file=sys.stderr)
    out_dir = Path(args.out)
    # One run at a time reads the folder's secrets and writes it; a dry run writes nothing.
    lock: AbstractContextManager[Path] = (
        nullcontext(out_dir)
        if args.dry_run
        else targets.writer_lock(out_dir, wait=args.wait, on_wait=_tell)
    )
    with lock as folder:
        secrets = load_secrets(folder)
        bundle = render(answers, tuned_facts(answers), secrets)
        if args.dry_run:
            plan = targets.plan_write(bundle, folder, redact=partial(redact, store=secrets))
            print(targets.describe_plan(plan))
            return 0
        result = targets.write_bundle(bundle, folder)
    print(targets.describe_result(result))
    return 0


def _cmd_wizard(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "the wizard needs a terminal", "run it in one, or give a command (see --help)"
        )
    from screens.app import run_wizard

    return run_wizard()


def _cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wizard.deliver.manifest import MANIFEST_FILE
    from wizard.verify.checks import check_bundle

    bundle_dir = Path(args.bundle)
    if not bundle_dir.is_dir():
        raise UsageError(
            f"{bundle_dir} is not a bundle folder", "give the folder matrix-wizard generate wrote"
        )
    if not (bundle_dir / MANIFEST_FILE).is_file():
        raise WizardError(
            f"{bundle_dir} holds no {MANIFEST_FILE}, so it is no bundle the wizard wrote and "
            "there is nothing to check",
            "give the folder matrix-wizard generate wrote",
        )
    results = check_bundle(bundle_dir)
    if args.json:
        _print_json([result.as_json() for result in results])
    else:
        width = max((len(result.file) for result in results), default=0)
        for result in results:
            print(f"{result.file:<{width}}  {result.status:<11}  {result.checker}")
            if result.status != "passed" and result.detail:
                for line in result.detail.splitlines():
                    print(f"    {line}")
    return 1 if any(result.status == "failed" for result in results) else 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wizard.verify.doctor import doctor

    results = doctor(
        Path(args.bundle),
        url=args.url,
        connect=args.connect,
        insecure=args.insecure,
        resolver=args.resolver,
        ca_file=args.ca_file,
    )
    if args.json:
        _print_json([result.as_json() for result in results])
    else:
        _print_doctor_results(results)
    return 1 if any(result.status == "failed" for result in results) else 0


def _print_doctor_results(results: "Sequence[DoctorResult]") -> None:
    width = max((len(result.check) for result in results), default=0)
    for result in results:
        print(f"{result.status:<10}  {result.check:<{width}}  {result.reason}")


def _cores(text: str) -> int:
    from wizard.units import parse_cores

    try:
        return parse_cores(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _path(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file or folder: give one")
    return text


def _size(text: str) -> int:
    from wizard.units import parse_size

    try:
        return parse_size(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds, such as 10"
        ) from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} seconds: give more than 0 and at most 3600")
    return value


def _port_number(text: str) -> int:
    from wizard.answers.validators import parse_port

    try:
        return parse_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _server_name(text: str) -> str:
    from wizard.answers.validators import normalise_server_name

    try:
        normalise_server_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _fingerprint(text: str) -> str:
    import re

    if not re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a SHA256 fingerprint as ssh shows it, such as SHA256:" + "A" * 43
        )
    return text.strip()


def _add_ssh_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Add --ssh and the flags that say how to connect and how long to wait."""
    from wizard.ssh.timeouts import (
        DEFAULT_AUTH_TIMEOUT,
        DEFAULT_BANNER_TIMEOUT,
        DEFAULT_CONNECT_TIMEOUT,
    )

    ssh = parser.add_argument_group(
        "SSH",
        "An unknown host key is shown by its fingerprint and accepted only when you say so "
        "(or with --accept-host-key), then remembered in ~/.ssh/known_hosts; a changed key is "
        "always refused. Login tries the SSH agent, then key files, then asks for a password.",
    )
    ssh.add_argument(
        "--ssh",
        metavar="HOST",
        required=required,
        help="user@host[:port], or a Host alias of ~/.ssh/config"
        + ("" if required else " (probe that machine instead of this one)"),
    )
    ssh.add_argument(
        "--accept-host-key",
        type=_fingerprint,
        metavar="SHA256:...",
        help="accept an unknown host key only if it has exactly this fingerprint (for scripts)",
    )
    ssh.add_argument("--identity", metavar="FILE", help="a private key to try first")
    ssh.add_argument("--port", type=_port_number, help="the SSH port (default: 22 or the config's)")
    ssh.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=DEFAULT_CONNECT_TIMEOUT,
        metavar="S",
        help=f"seconds to reach the server (default: {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    ssh.add_argument(
        "--banner-timeout",
        type=_seconds,
        default=DEFAULT_BANNER_TIMEOUT,
        metavar="S",
        help="seconds for its SSH banner, and again for the key exchange "
        f"(default: {DEFAULT_BANNER_TIMEOUT:g})",
    )
    ssh.add_argument(
        "--auth-timeout",
        type=_seconds,
        default=DEFAULT_AUTH_TIMEOUT,
        metavar="S",
        help=f"seconds for each login answer (default: {DEFAULT_AUTH_TIMEOUT:g})",
    )


def _add_apply_command(commands: "argparse._SubParsersAction[_Parser]") -> None:
    """Add the apply command: upload a bundle over SSH and run its apply.sh there."""
    apply = commands.add_parser(
        "apply",
        help="upload a bundle to a server over SSH and run its apply.sh there",
        description="Upload the bundle over SFTP into a hidden folder beside --remote-dir, "
        "check every file's sha256 there, swap it in (the bundle it replaces is kept as "
        "<remote-dir>.previous) and run apply.sh in it, as root or with passwordless sudo. "
        "Its output is shown as it comes and its exit status is this command's.",
    )
    apply.add_argument("bundle", metavar="DIR", help="the bundle folder (with apply.sh)")
    apply.add_argument(
        "--remote-dir",
        metavar="PATH",
        help="where the bundle goes on the server (default: ~/ and the name of DIR)",
    )
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="connect and look, but upload and change nothing: show the files that would be "
        "sent, what would be replaced and the command that would run",
    )
    _add_ssh_options(apply, required=True)
    apply.set_defaults(handler=_cmd_apply)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser for every command."""
    from wizard.probe.facts import DiskKind

    parser = _Parser(
        prog="matrix-wizard",
        description="Size, configure and deploy a Matrix homeserver. "
        "With no command, the wizard starts on screen.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(handler=_cmd_wizard)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    detect = commands.add_parser("detect", help="this machine's facts and how each homeserver fits")
    detect.add_argument(
        "--data-path",
        default="/var/lib",
        help="where the homeserver will keep its data (default: /var/lib)",
    )
    detect.add_argument(
        "--measure-disk",
        action="store_true",
        help="time random reads to tell SSD from HDD on virtual disks (~2 s)",
    )
    detect.add_argument("--homeserver", choices=HOMESERVERS, help="fit only this homeserver")
    detect.add_argument("--json", action="store_true", help="print one JSON object")
    _add_ssh_options(detect, required=False)
    detect.set_defaults(handler=_cmd_detect)

    plan = commands.add_parser("plan", help="fit a machine described by hand or by a profile")
    plan.add_argument("--profile", help="a machine profile (see: matrix-wizard profiles)")
    plan.add_argument("--cpus", type=_cores, help="CPU cores, such as 2")
    plan.add_argument("--ram", type=_size, help="RAM, such as 4G (units are powers of 1024)")
    plan.add_argument("--disk", type=_size, help="free disk for the homeserver, such as 60G")
    kind = plan.add_mutually_exclusive_group()
    kind.add_argument("--ssd", dest="disk_kind", action="store_const", const=DiskKind.SSD)
    kind.add_argument("--hdd", dest="disk_kind", action="store_const", const=DiskKind.HDD)
    plan.set_defaults(disk_kind=DiskKind.UNKNOWN)
    plan.add_argument("--homeserver", choices=HOMESERVERS, help="fit only this homeserver")
    plan.add_argument(
        "--matrix-rtc",
        action="store_true",
        help="count MatrixRTC calls in: LiveKit and lk-jwt-service beside the homeserver",
    )
    plan.add_argument(
        "--mas",
        action="store_true",
        help="count the Matrix Authentication Service in, beside Synapse",
    )
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.set_defaults(handler=_cmd_plan)

    profiles = commands.add_parser("profiles", help="list the machine profiles for planning")
    profiles.add_argument("--json", action="store_true", help="print a JSON list")
    profiles.set_defaults(handler=_cmd_profiles)

    hardware = commands.add_parser("hardware", help="the hardware to buy for a homeserver and tier")
    hardware.add_argument("homeserver", choices=HOMESERVERS)
    hardware.add_argument("tier", choices=("minimum", "recommended", "production"))
    hardware.add_argument("--json", action="store_true", help="print one JSON object")
    hardware.set_defaults(handler=_cmd_hardware)

    schema = commands.add_parser("schema", help="print the JSON Schema of answers.yaml")
    schema.set_defaults(handler=_cmd_schema)

    answers = commands.add_parser(
        "answers", help="print a complete answers file, every default filled in"
    )
    answers.add_argument("--homeserver", required=True, choices=HOMESERVERS)
    answers.add_argument(
        "--server-name",
        required=True,
        type=_server_name,
        help="the domain in user IDs, such as example.com (cannot change later)",
    )
    answers.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "rocksdb"),
        help="default: postgresql, or rocksdb (built-in) for conduit, continuwuity and tuwunel",
    )
    answers.add_argument("--proxy", choices=("nginx", "caddy", "traefik"), help="default: nginx")
    answers.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="set any answer, such as calls.turn=true (repeatable)",
    )
    answers.set_defaults(handler=_cmd_answers)

    generate = commands.add_parser("generate", help="write the bundle for an answers file")
    generate.add_argument(
        "--answers", required=True, type=_path, help="the answers.yaml to build from"
    )
    generate.add_argument("--out", required=True, type=_path, help="the bundle folder to write")
    when = generate.add_mutually_exclusive_group()
    when.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be created, changed and kept; write nothing",
    )
    when.add_argument(
        "--wait",
        action="store_true",
        help="when another run is writing the folder, wait for it to finish rather than stop",
    )
    generate.add_argument("--prefix", help="put every absolute path under this folder (staging)")
    generate.set_defaults(handler=_cmd_generate)

    check = commands.add_parser("check", help="check a bundle with the real programs installed")
    check.add_argument("bundle", type=_path, help="the bundle folder")
    check.add_argument("--json", action="store_true", help="print a JSON list of results")
    check.set_defaults(handler=_cmd_check)
    _add_apply_command(commands)

    doctor = commands.add_parser(
        "doctor",
        help="check the live server: well-known, APIs, federation discovery, admin and metrics "
        "private, TLS",
    )
    doctor.add_argument("bundle", help="the bundle folder (its answers.yaml names the server)")
    doctor.add_argument("--url", help="the homeserver's https:// URL (default: the bundle's)")
    doctor.add_argument(
        "--connect",
        metavar="ADDRESS",
        help="connect to this address instead of looking the names up (before DNS is set); "
        "federation discovery, which follows DNS, then runs only with --resolver",
    )
    doctor.add_argument(
        "--resolver",
        metavar="ADDRESS[:PORT]",
        help="ask this DNS server for federation discovery's SRV and address records (such as "
        "your DNS provider's, before new records spread) instead of the system's resolver",
    )
    doctor.add_argument(
        "--ca-file",
        metavar="PEM",
        type=_path,
        help="also trust this CA's certificates (a private federation)",
    )
    doctor.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify certificates (self-signed); TLS and certificate names are then "
        "reported as unverified",
    )
    doctor.add_argument("--json", action="store_true", help="print a JSON list of results")
    doctor.set_defaults(handler=_cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status: 0 done, 1 failed, 2 bad usage."""
    given = sys.argv[1:] if argv is None else list(argv)
    # With no arguments the wizard starts at once, before the commands' parser and models load.
    args = build_parser().parse_args(given) if given else argparse.Namespace(handler=_cmd_wizard)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except WizardError as error:
        print(f"matrix-wizard: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("matrix-wizard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (as with `| head`): stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
