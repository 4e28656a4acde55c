"""The matrix-wizard command line: the wizard on screen by default, and one command per step."""

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from wizard import __version__
from wizard.errors import UsageError, WizardError
from wizard.facts import DiskKind, HostFacts

HOMESERVERS = ("synapse", "dendrite", "conduit")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line with the way out, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _print_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _cmd_detect(args: argparse.Namespace) -> int:
    from wizard.probe.local import probe_local

    facts = probe_local(data_path=args.data_path, measure_disk=args.measure_disk)
    return _show_facts_and_fits(facts, args.homeserver, args.json)


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
        missing = [flag for flag, value in (("--cpus", args.cpus), ("--ram", args.ram),
                                            ("--disk", args.disk)) if value is None]
        if missing:
            raise UsageError(
                f"describe the machine: {', '.join(missing)} missing",
                "for example --cpus 2 --ram 4G --disk 60G --ssd, or --profile NAME "
                "(matrix-wizard profiles lists them)",
            )
        facts = describe_machine(args.cpus, args.ram, args.disk, args.disk_kind)
    return _show_facts_and_fits(facts, args.homeserver, args.json)


def _show_facts_and_fits(facts: HostFacts, homeserver: str | None, as_json: bool) -> int:
    from wizard import report, tiers

    names = [homeserver] if homeserver else list(HOMESERVERS)
    fits = [tiers.fit(facts, name) for name in names]
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
    from wizard import report
    from wizard.probe.profile import list_profiles

    profiles = list_profiles()
    if args.json:
        _print_json([profile.model_dump(mode="json") for profile in profiles])
    else:
        print(report.profiles_table(profiles))
    return 0


def _cmd_hardware(args: argparse.Namespace) -> int:
    from wizard import report, tiers

    need = tiers.hardware_for(args.homeserver, args.tier)
    if args.json:
        _print_json(need.model_dump(mode="json"))
    else:
        print(report.hardware_text(need))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number, such as 2") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} cores: give at least 1")
    return value


def _size(text: str) -> int:
    from wizard.units import parse_size

    try:
        return parse_size(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """Build the parser for every command."""
    parser = _Parser(
        prog="matrix-wizard",
        description="Size, configure and deploy a Matrix homeserver. "
        "With no command, the wizard starts on screen.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    detect = commands.add_parser("detect", help="this machine's facts and how each homeserver fits")
    detect.add_argument("--data-path", default="/var/lib",
                        help="where the homeserver will keep its data (default: /var/lib)")
    detect.add_argument("--measure-disk", action="store_true",
                        help="time random reads to tell SSD from HDD on virtual disks (~2 s)")
    detect.add_argument("--homeserver", choices=HOMESERVERS, help="fit only this homeserver")
    detect.add_argument("--json", action="store_true", help="print one JSON object")
    detect.set_defaults(handler=_cmd_detect)

    plan = commands.add_parser("plan", help="fit a machine described by hand or by a profile")
    plan.add_argument("--profile", help="a machine profile (see: matrix-wizard profiles)")
    plan.add_argument("--cpus", type=_positive_int, help="CPU cores, such as 2")
    plan.add_argument("--ram", type=_size, help="RAM, such as 4G (units are powers of 1024)")
    plan.add_argument("--disk", type=_size, help="free disk for the homeserver, such as 60G")
    kind = plan.add_mutually_exclusive_group()
    kind.add_argument("--ssd", dest="disk_kind", action="store_const", const=DiskKind.SSD)
    kind.add_argument("--hdd", dest="disk_kind", action="store_const", const=DiskKind.HDD)
    plan.set_defaults(disk_kind=DiskKind.UNKNOWN)
    plan.add_argument("--homeserver", choices=HOMESERVERS, help="fit only this homeserver")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status: 0 done, 1 failed, 2 bad usage."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except WizardError as error:
        print(f"matrix-wizard: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("matrix-wizard: interrupted", file=sys.stderr)
        return 130
