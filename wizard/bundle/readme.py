"""README.md of the bundle: what it is, and the checklist from DNS to the first admin account."""

from dataclasses import dataclass

from wizard.answers.model import (
    CONDUIT_FAMILY,
    Delegation,
    Homeserver,
    ProxyKind,
    RegistrationMode,
    TlsMode,
)
from wizard.answers.secret_store import SECRETS_FILE
from wizard.bundle import (
    apply_script,
    backup,
    calls,
    certificates,
    conduit,
    dendrite_build,
    element_web,
    firewall,
    layout,
    mas,
    matrix_rtc,
    media,
    migrate,
    monitoring,
    native,
    nginx,
    postgres,
    readme_backups,
    readme_element_web,
    synapse_workers,
    systemd,
    versions,
)
from wizard.bundle.context import RenderContext
from wizard.bundle.model import Bundle, File

README = "README.md"


@dataclass(frozen=True)
class DnsRow:
    """One DNS record the person sets at their DNS provider."""

    name: str
    kind: str
    value: str
    why: str


def dns_rows(ctx: RenderContext) -> list[DnsRow]:
    """Return the DNS records the deployment needs, each host once."""
    address = "this server's IPv4 (AAAA: its IPv6)"
    rows = [DnsRow(ctx.homeserver_host, "A/AAAA", address, "clients and other servers")]
    server_host = ctx.server_name_host
    delegation = ctx.answers.domain.delegation
    if delegation is Delegation.WELL_KNOWN:
        rows.append(
            DnsRow(
                server_host,
                "A/AAAA",
                address,
                "serves /.well-known/matrix/ (or serve those two files from where it points now)",
            )
        )
    if delegation is Delegation.SRV:
        target = f"10 5 {ctx.federation_port} {ctx.homeserver_host}."
        rows.append(
            DnsRow(
                f"_matrix-fed._tcp.{server_host}",
                "SRV",
                target,
                f"federation; the certificate must also cover {server_host}",
            )
        )
    if ctx.answers.calls.turn:
        rows.append(DnsRow(calls.turn_host(ctx), "A/AAAA", address, "TURN for calls"))
    unique: dict[tuple[str, str], DnsRow] = {}
    for row in rows:
        unique.setdefault((row.name, row.kind), row)
    return list(unique.values())


def _code(*lines: str) -> list[str]:
    return ["```sh", *lines, "```", ""]


def _summary(ctx: RenderContext) -> list[str]:
    answers = ctx.answers
    proxy = f"{answers.proxy.kind.value}, certificates: {answers.proxy.tls.value}"
    deployment = "docker compose" if ctx.compose else "native (systemd)"
    rows = [
        ("Homeserver", f"{ctx.homeserver.value}, tuned for the {answers.homeserver.tier} tier"),
        ("Database", answers.database.kind.value),
        ("Reverse proxy", proxy),
        ("Runs with", deployment),
        *_workers_row(ctx),
        ("Server name", f"`{ctx.server_name}` (user IDs end in `:{ctx.server_name}`)"),
        ("Homeserver URL", ctx.public_baseurl),
        ("Federation", ctx.federation_endpoint),
        ("Registration", answers.registration.mode.value),
        *([("Sign-up and login", f"MAS at {mas.public_base(ctx)}")] if mas.enabled(ctx) else []),
        ("Calls (TURN)", calls.turn_host(ctx) if answers.calls.turn else "off"),
        ("Element Web", element_web.url(answers) or "off"),
        (
            "Group calls (MatrixRTC)",
            matrix_rtc.service_url(ctx) if answers.calls.matrix_rtc else "off",
        ),
        ("Monitoring", _monitoring_summary(ctx)),
        ("Backups", backup.backup_dir(ctx) if answers.backups.enabled else "off"),
    ]
    return [
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "The server name cannot be changed later: every account and room carries it.",
        "",
    ]


def _workers_row(ctx: RenderContext) -> list[tuple[str, str]]:
    if not synapse_workers.workers(ctx):
        return []
    return [("Synapse workers", f"{synapse_workers.summary(ctx)} (see Synapse workers below)")]


def _monitoring_summary(ctx: RenderContext) -> str:
    chosen = ctx.answers.monitoring
    tools = (("Prometheus", chosen.prometheus), ("Grafana", chosen.grafana))
    return " and ".join(name for name, on in tools if on) or "off"


def _dns(ctx: RenderContext) -> list[str]:
    lines = ["## 1. DNS records", "", "| Name | Type | Value | For |", "|---|---|---|---|"]
    lines += [f"| `{r.name}` | {r.kind} | {r.value} | {r.why} |" for r in dns_rows(ctx)]
    lines.append("")
    if ctx.answers.domain.delegation is Delegation.SRV:
        lines += [
            "With SRV delegation other servers check the certificate against the server name,",
            f"so the certificate on {ctx.homeserver_host} must cover `{ctx.server_name_host}` too.",
            "Delegation through /.well-known is simpler and preferred by the Matrix spec.",
            "",
        ]
    if ctx.answers.proxy.tls is TlsMode.ACME:
        lines += [
            "Set these before applying: the certificate authority checks them over port "
            f"{ctx.ports.http}.",
            "",
        ]
    return lines + _certificate_names(ctx)


# What each name beyond the homeserver's is in the certificate for, by apply.sh's reason.
CERTIFICATE_NAME_USES = {
    "wellknown": "serves /.well-known/matrix/ when it points here",
    "federation": "other servers check the certificate for it (SRV delegation)",
    "turn": "clients check it for TURN over TLS",
    "element": "browsers open Element Web there",
    "mas": "people sign up and log in there (Matrix Authentication Service)",
}


def _certificate_names(ctx: RenderContext) -> list[str]:
    """Return the names certbot's certificate covers when DNS allows, and how to add one later."""
    others = nginx.certificate_names(ctx)
    if not certificates.uses_certbot(ctx) or not others:
        return []
    return [
        f"apply.sh asks the certificate authority (through certbot) for `{ctx.homeserver_host}`, "
        "and for each of these only when it resolves to this server's address:",
        "",
        *(f"- `{name}`: {CERTIFICATE_NAME_USES[why]}" for name, why in others),
        "",
        "A name that points elsewhere would make the authority refuse the whole certificate, so "
        "apply.sh leaves it out and prints each name it leaves out, with why and what to do. "
        "To add one later, point its DNS record here, wait until it resolves, and run "
        "`sudo ./apply.sh` again: it asks for the certificate again with that name.",
        "",
    ]


def _ports(ctx: RenderContext) -> list[str]:
    lines = ["## 2. Firewall", ""]
    rows = firewall.open_ports(ctx)
    if ctx.answers.firewall.enabled:
        lines += [
            "`firewall.sh` (run by apply.sh) opens exactly these and refuses the rest. So as not "
            "to lock you out, it also keeps open the ports sshd listens on and the port of the "
            "SSH session it runs in, and says so. With nftables (no ufw) the rules are kept "
            "across reboots in /etc/nftables.d, included from /etc/nftables.conf at boot.",
            "",
        ]
    else:
        lines += ["No host firewall was chosen; open these in your provider's firewall:", ""]
    lines += ["| Port | Protocol | For |", "|---|---|---|"]
    lines += [f"| {rule.ports} | {rule.protocol} | {rule.purpose} |" for rule in rows]
    lines.append("")
    if ctx.compose:
        lines += [
            "Docker's published ports bypass ufw; only the proxy's ports are published"
            + (", and LiveKit's media ports" if matrix_rtc.enabled(ctx) else "")
            + ", and coturn uses the host network. Metrics and the database are never published.",
            "",
        ]
    return lines


def _apply(ctx: RenderContext) -> list[str]:
    lines = [
        "## 3. Apply",
        "",
        "Copy this folder to the server (modes kept), then run apply.sh there: first as a "
        "dry run, which prints every action and changes nothing, then for real. It is safe "
        "to run again after any change.",
        "",
        *_code(
            f"scp -rp . root@{ctx.homeserver_host}:matrix-bundle",
            f"ssh root@{ctx.homeserver_host}",
            "cd matrix-bundle",
            "sudo ./apply.sh --dry-run",
            "sudo ./apply.sh",
        ),
        f"apply.sh copies the bundle to `{ctx.install_dir}`, creates the folders under "
        f"`{ctx.data_dir}` with the owners the services need, keeps secrets at mode 0600,",
        "opens the firewall, obtains the certificate where needed, starts everything and "
        "waits for the homeserver to answer. `--skip-start` prepares without starting.",
        "",
    ]
    what = "container" if ctx.compose else "service"
    lines += [
        f"Applied again after a change, it restarts each {what} whose files changed, "
        "and only those: it keeps the checksums of the files each service reads in "
        f"`{layout.checksum_record(ctx)}`.",
        "",
    ]
    if ctx.compose:
        lines += [
            "The commands here use `docker compose`; with the older docker-compose program "
            "write `docker-compose` instead.",
            "",
        ]
    if ctx.compose and ctx.answers.proxy.kind is ProxyKind.NGINX:
        lines += [
            "nginx looks up the containers' addresses when it starts or reloads, and a "
            "container may come back at another address. apply.sh reloads it; after "
            f"restarting a service by hand (`docker compose restart {ctx.homeserver.value}`), "
            "reload nginx too: `docker compose exec nginx nginx -s reload`.",
            "",
        ]
    return lines + _database_check(ctx)


def _database_check(ctx: RenderContext) -> list[str]:
    if not ctx.uses_postgres:
        return []
    database = ctx.answers.database
    query = apply_script.DATABASE_QUERY
    expected = apply_script.expected_database_locale(ctx).replace("|*", " (any locale)")
    lines = ["### The database check", ""]
    if ctx.compose and ctx.bundled_postgres:
        lines += [
            "Before the homeserver starts, apply.sh starts PostgreSQL alone and checks the "
            f"database's encoding|collation|ctype is `{expected}`. To check by hand:",
            "",
            *_code(
                f"cd {ctx.install_dir}",
                f"docker compose exec postgres psql -U {database.user} -d {database.name} "
                f'-p {ctx.database_port} -tA -c "{query}"',
            ),
        ]
    else:
        before = (
            "apply.sh runs this check itself before the homeserver starts. "
            if ctx.bundled_postgres
            else ""
        )
        lines += [
            f"{before}Check the database before the first start; it must show `{expected}` "
            f"(the password is `database_password` in `{SECRETS_FILE}`):",
            "",
            *_code(database_check_command(ctx)),
        ]
    return [
        *lines,
        "If it shows anything else: " + apply_script.database_fix(ctx),
        "",
        *_roles_upgrade(ctx),
    ]


def _roles_upgrade(ctx: RenderContext) -> list[str]:
    """Return what apply.sh does to a cluster an older bundle made, under compose."""
    if not (ctx.compose and ctx.bundled_postgres):
        return []
    user = ctx.answers.database.user
    return [
        f"Older bundles made `{user}` the cluster's superuser. On such a cluster apply.sh stops "
        f"the homeserver, makes `{postgres.SUPERUSER}` the superuser (password in "
        f"`{postgres.ENV_FILE}`) and `{user}` a plain role owning its database, in one "
        f"transaction (`{postgres.UPGRADE_ROLES_SQL}`); a fresh cluster is already so.",
        "",
    ]


def database_check_command(ctx: RenderContext) -> str:
    """Return the psql command that shows the database's encoding|collation|ctype by hand."""
    database = ctx.answers.database
    return (
        f"psql -h {ctx.database_host} -p {ctx.database_port} -U {database.user} "
        f'-d {database.name} -tA -c "{apply_script.DATABASE_QUERY}"'
    )


def _admin(ctx: RenderContext) -> list[str]:
    lines = ["## 4. The first admin account", ""]
    if mas.enabled(ctx):
        return lines + mas.admin_lines(ctx)
    command = apply_script.admin_command(ctx)
    if command:
        where = f"in `{ctx.install_dir}`" if ctx.compose else "on the server"
        asks = (
            " with your name in place of YOURNAME; it asks for a password"
            if ctx.homeserver is Homeserver.DENDRITE
            else "; it asks for a name and a password"
        )
        lines += [
            f"Run this {where}{asks} and uses the registration shared secret already in the "
            "homeserver's config:",
            "",
            *_code(command),
        ]
    else:
        lines += _first_account(ctx)
    return lines + _registration(ctx)


def _first_account(ctx: RenderContext) -> list[str]:
    """Say how the first account of a Conduit-family server is made and becomes its admin."""
    config = f"`{conduit.config_file(ctx)}`"
    token = (
        f"with the `registration_token` from {config}"
        if ctx.answers.registration.mode is RegistrationMode.TOKEN
        else "(registration is closed: set `allow_registration = true` and a "
        f"`registration_token` in {config}, apply again, register, then close it again)"
    )
    lines = [
        f"{conduit.member(ctx).name} makes the first account registered on it the server admin. "
        f"Register it in a Matrix client at {ctx.public_baseurl} {token}.",
        "Administer the server in the admin room it then invites you to.",
    ]
    if ctx.homeserver is Homeserver.CONTINUWUITY:
        lines.append(
            "On its first start Continuwuity also prints a one-time registration token for "
            f"that first account in its log (`{apply_script.homeserver_log_command(ctx)}`)."
        )
    return [*lines, ""]


def _registration(ctx: RenderContext) -> list[str]:
    mode = ctx.answers.registration.mode
    if mode is RegistrationMode.CLOSED:
        return [
            "Registration is closed: make accounts for others the same way as the admin's.",
            "",
        ]
    if mode is RegistrationMode.OPEN:
        instead = "close it" if ctx.homeserver is Homeserver.DENDRITE else "switch to tokens"
        return [
            f"Registration is open to anyone: watch for spam accounts, or {instead}.",
            "",
        ]
    port = ctx.ports.homeserver
    auth = '-H "Authorization: Bearer ADMIN_ACCESS_TOKEN"'
    lines = ["### Registration tokens", ""]
    if ctx.homeserver in CONDUIT_FAMILY:
        return [
            *lines,
            f"New accounts need the `registration_token` from `{conduit.config_file(ctx)}`: "
            "give it only to the people you invite, and change it (then apply again) to stop "
            "them.",
            "",
        ]
    # Synapse: Dendrite does not check tokens, so answers by token are refused for it.
    url = f"http://localhost:{port}/_synapse/admin/v1/registration_tokens/new"
    curl = f"curl -s -X POST {auth} -d '{{\"uses_allowed\": 1}}' {url}"
    command = f"docker compose exec {ctx.homeserver.value} {curl}" if ctx.compose else curl
    return [
        *lines,
        "New accounts need a token. Make one for each person with the admin API, which is "
        "reachable only on the server itself. Take the admin's access token from a client "
        "(Element: Settings, Help & About, Access token):",
        "",
        *_code(command),
    ]


def _calls(ctx: RenderContext) -> list[str]:
    if not ctx.answers.calls.turn:
        return []
    relay = ctx.answers.calls
    lines = [
        "## Calls (TURN)",
        "",
        f"coturn relays calls at `{calls.turn_host(ctx)}` on port {ctx.ports.turn} and UDP "
        f"ports {relay.relay_min_port}-{relay.relay_max_port}, with time-limited "
        "credentials from the homeserver; it refuses private and loopback peers.",
    ]
    if calls.turn_tls(ctx):
        lines.append(
            f"TURN over TLS uses port {ctx.ports.turns}; apply.sh gives coturn its own copy of "
            "the certificate and certbot renews it."
        )
    else:
        lines.append(
            "TURN over TLS is off: no certificate for the TURN host is kept on the host "
            "(the proxy keeps its own)."
        )
    own = ctx.answers.calls
    if own.external_ip is None:
        lines.append(
            "The server's own address is not in the answers: calls between two users who both "
            "relay through this server fail where that address is private. Set "
            "`calls.external_ip` (and, behind NAT, `calls.internal_ip`, the address on the "
            "server's interface) in answers.yaml, generate again and apply."
        )
    else:
        lines.append(
            f"coturn may relay to the server's own address "
            f"{own.internal_ip or own.external_ip}, so calls between two users who both relay "
            "through it work"
            + (
                f"; it tells clients its public address {own.external_ip}."
                if own.internal_ip
                else "."
            )
        )
    return [*lines, ""]


def _matrix_rtc(ctx: RenderContext) -> list[str]:
    """Return the README's section on MatrixRTC calls: what runs, where, and what to check."""
    if not matrix_rtc.enabled(ctx):
        return []
    own = ctx.answers.calls
    lines = [
        "## Group calls (MatrixRTC)",
        "",
        f"Element Call and Element X place calls through LiveKit {versions.LIVEKIT_VERSION} "
        f"and lk-jwt-service {versions.LK_JWT_SERVICE_VERSION}. Clients find them in "
        f"`/.well-known/matrix/client` (`org.matrix.msc4143.rtc_foci`) and from the homeserver; "
        f"the proxy sends `{matrix_rtc.JWT_PREFIX}` to lk-jwt-service and "
        f"`{matrix_rtc.SFU_PREFIX}` (a WebSocket) to LiveKit. lk-jwt-service checks a client's "
        "Matrix OpenID token with its homeserver over federation, then hands it a LiveKit token; "
        f"only users of `{ctx.server_name}` may open a call's room, others may join it.",
        "",
        f"Media goes straight to LiveKit on TCP port {own.rtc_tcp_port} and UDP port "
        f"{own.rtc_udp_port} (open both); LiveKit tells clients the address {own.external_ip} "
        "(`calls.external_ip`) and never looks it up itself or offers a container's address. "
        "If the server's public address changes, change the answer, generate again and apply.",
        "",
        "LiveKit's API key and secret are in `secrets.yaml`, and reach the two services "
        f"through `{matrix_rtc.LIVEKIT_ENV}` and `{matrix_rtc.LK_JWT_ENV}` (mode 0600).",
        "",
    ]
    if not ctx.compose:
        lines += [
            "Neither program is packaged for Debian or Ubuntu, and the bundle knows no checksum "
            "of their release files, so you put them in place before apply.sh starts them: "
            "download the files for this machine (`uname -m`) from the pinned releases, check "
            "LiveKit's archive against the checksums file of its release, and install each as "
            "mode 0755 where apply.sh looks for it. What you trust is GitHub's TLS and those "
            "projects' release pages.",
            "",
            *(
                f"- `{path}`: {native.CALL_RELEASES[path.rsplit('/', 1)[1]]}"
                for path in native.call_programs(ctx)
            ),
            "",
        ]
    return lines


def _monitoring(ctx: RenderContext) -> list[str]:
    chosen = ctx.answers.monitoring
    if not chosen.prometheus:
        return []
    hs = ctx.homeserver
    if hs is Homeserver.SYNAPSE:
        scraped = (
            f"Prometheus scrapes Synapse's metrics listener ({monitoring.SYNAPSE_METRICS_PATH})."
        )
    elif hs is Homeserver.DENDRITE:
        scraped = "Prometheus scrapes Dendrite's /metrics with the password in secrets.yaml."
    else:
        scraped = (
            f"{conduit.member(ctx).name} has no metrics endpoint: Prometheus watches only "
            "itself until you add other exporters."
        )
    tunnels = f"-L {ctx.ports.prometheus}:127.0.0.1:{ctx.ports.prometheus}"
    urls = [f"Prometheus: http://localhost:{ctx.ports.prometheus}"]
    if chosen.grafana:
        tunnels += f" -L {ctx.ports.grafana}:127.0.0.1:{ctx.ports.grafana}"
        urls.append(
            f"Grafana: http://localhost:{ctx.ports.grafana} (user admin, password "
            "`grafana_admin_password` in secrets.yaml)"
        )
    lines = [
        "## Monitoring",
        "",
        scraped,
        "Both listen on the server's loopback only; reach them through an SSH tunnel:",
        "",
        *_code(f"ssh {tunnels} root@{ctx.homeserver_host}"),
        *(f"- {url}" for url in urls),
        "",
    ]
    if chosen.grafana:
        lines += [
            f"Grafana loads dashboards from `{layout.grafana_dashboards_dir(ctx)}`: put JSON "
            "files there (for Synapse, contrib/grafana/synapse.json from its repository).",
            "",
        ]
    return lines


def _secrets(ctx: RenderContext) -> list[str]:
    folder = ctx.homeserver.value
    files = ", ".join(
        f"`{path}/`" if path == folder else f"`{path}`"
        for path in apply_script.private_paths(ctx)
        if path != SECRETS_FILE
    )
    return [
        "## Secrets",
        "",
        f"Every password and key is in `{SECRETS_FILE}` (mode 0600) and in the files made "
        f"from it: {files}. Never share them or put them in a ticket. Running the wizard "
        "again keeps them; deleting one from secrets.yaml makes a new one next time.",
        "",
    ]


def _native(ctx: RenderContext) -> list[str]:
    if ctx.compose:
        return []
    hs = ctx.homeserver
    steps = [
        "installs these Debian or Ubuntu packages when missing: "
        + ", ".join(f"`{package}`" for package in native.apt_packages(ctx)),
        "creates the system users "
        + ", ".join(f"`{user.name}`" for user in native.system_users(ctx))
        + " (the packages create the others)",
    ]
    if hs is Homeserver.SYNAPSE:
        steps.append(
            f"installs Synapse {versions.SYNAPSE_VERSION} with pip into the virtualenv "
            f"`{native.synapse_venv(ctx)}` (`{native.synapse_requirement(ctx)}`)"
        )
    if media.synapse_s3_provider(ctx):
        steps.append(
            f"installs `{media.s3_provider_requirement()}` into the same virtualenv, for S3 media"
        )
    if dendrite_build.builds_dendrite(ctx):
        script, version = dendrite_build.BUILD_SCRIPT, dendrite_build.module_version()
        steps.append(
            f"builds Dendrite {version} with `{script}` and links its programs into "
            f'`{ctx.host_path(native.LOCAL_BIN)}` (see "Dendrite, built on this server")'
        )
    binary = native.homeserver_binary(ctx)
    if binary is not None:
        steps.append(f"expects {hs.value} at `{binary.path}`: {binary.how_to_get}")
    if native.uses_traefik(ctx):
        steps.append(
            f"downloads Traefik {versions.TRAEFIK_VERSION} from its GitHub release to "
            f"`{native.traefik_binary(ctx)}`, checked against the release's SHA-256 sums"
        )
    if ctx.bundled_postgres:
        steps.append(
            f"puts `{postgres.POSTGRESQL_CONF}` in PostgreSQL's `conf.d/` as "
            f"`{apply_script.POSTGRES_CONF_NAME}`, runs `{postgres.INIT_SQL}` as the postgres "
            "user and checks the database's collation"
        )
    if ctx.answers.proxy.kind is ProxyKind.NGINX:
        steps.append(
            f"links `nginx/matrix.conf` as `{ctx.host_path(apply_script.NGINX_SITE)}` and "
            "checks it with `nginx -t`"
        )
    steps.append(
        f"copies the units in `{systemd.UNIT_FOLDER}/` (its own units, and drop-ins that point "
        f"the packaged ones at this bundle) to `{systemd.unit_dir(ctx)}`, then enables and "
        "starts " + ", ".join(f"`{unit}`" for unit in systemd.start_order(ctx))
    )
    steps += _native_workers(ctx)
    lines = [
        "## Running without containers",
        "",
        "On Debian or Ubuntu with systemd, apply.sh:",
        "",
        *(f"- {step}" for step in steps),
        "",
        f"Each service logs to the journal: `journalctl -u {layout.systemd_unit(hs.value)}`.",
        "",
    ]
    grafana = native.grafana_note(ctx)
    if grafana:
        lines += [grafana + ".", ""]
    return lines


def _native_workers(ctx: RenderContext) -> list[str]:
    """Return what apply.sh does for Synapse's workers and their Redis, when they run."""
    units = systemd.worker_units(ctx)
    if not units:
        return []
    redis = layout.systemd_unit(synapse_workers.REDIS_SERVICE)
    template = synapse_workers.WORKER_UNIT_TEMPLATE
    return [
        f"enables and starts `{redis}` before Synapse. Redis stays on loopback: the package "
        "listens on 127.0.0.1 and ::1 only (`bind 127.0.0.1 -::1` in its redis.conf), "
        "and Synapse reaches it at "
        f"127.0.0.1:{synapse_workers.REDIS_PORT}; keep it so, since Redis asks no password "
        "here",
        f"once Synapse is up, enables and starts each worker as `{template}@<name>` "
        f"({len(units)} of them, side by side) and waits until the health check of each "
        "answers on its port; restarting Synapse restarts them, and an enabled worker starts "
        "with Synapse",
        f"stops and disables a `{template}@<name>` an earlier apply started that this bundle "
        "no longer has",
    ]


def _doctor(ctx: RenderContext) -> list[str]:
    return [
        "## 5. Check it from outside",
        "",
        "Once DNS points here, run this where matrix-wizard is installed, with this folder: it "
        "checks the well-known documents, the client and federation APIs, that the admin API "
        "and metrics are not public, "
        + ("the authentication service's discovery document, " if mas.enabled(ctx) else "")
        + "and the TLS certificate.",
        "",
        *_code(f"matrix-wizard doctor {ctx.install_dir}"),
        "Before DNS is set, add `--connect IP` to reach the server by its address.",
        "",
    ]


def _troubleshooting(ctx: RenderContext) -> list[str]:
    return [
        "## When something is wrong",
        "",
        f"- The homeserver's log: `{apply_script.homeserver_log_command(ctx)}`",
        f"- Federation: https://federationtester.matrix.org/#{ctx.server_name}",
        f"- Clients: {ctx.public_baseurl}_matrix/client/versions must answer with JSON.",
        "",
    ]


def readme_text(ctx: RenderContext) -> str:
    """Return the bundle's README: a summary, then the checklist in the order it is done."""
    lines = [
        f"# Matrix homeserver for {ctx.server_name}",
        "",
        "Written by matrix-wizard. This folder holds every file the deployment needs; "
        "apply.sh puts them in place.",
        "",
        *_summary(ctx),
        *_dns(ctx),
        *_ports(ctx),
        *_apply(ctx),
        *_admin(ctx),
        *_doctor(ctx),
        *synapse_workers.readme_section(ctx),
        *mas.readme_section(ctx),
        *_calls(ctx),
        *readme_element_web.readme_section(ctx),
        *_matrix_rtc(ctx),
        *readme_backups.readme_section(ctx),
        *migrate.readme_section(ctx),
        *_monitoring(ctx),
        *_native(ctx),
        *dendrite_build.readme_section(ctx),
        *_secrets(ctx),
        *_troubleshooting(ctx),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def render(ctx: RenderContext) -> Bundle:
    """Return README.md, which every bundle has."""
    return {README: File(readme_text(ctx))}
