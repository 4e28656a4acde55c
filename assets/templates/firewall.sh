#!/bin/sh
# Open exactly the inbound ports this Matrix deployment uses and refuse the rest.
# Written by matrix-wizard. Uses ufw when it is installed, else nftables, kept across reboots.
# Usage: sudo ./firewall.sh [--dry-run]   (--dry-run prints the rules and changes nothing)
# SSH stays reachable: besides the answered port, the ports sshd listens on (sshd -T, ss) and
# the port of the SSH session running this script ($SSH_CONNECTION) are kept open too.
set -euf

# One rule a line: port (or first-last range), protocol, purpose.
RULES=@@rules
ANSWERED_SSH_PORT=@@ssh_port
# A compose bundle's containers may run under podman (podman-docker in place of Docker), whose
# containers ask for each other's names at their network's gateway on this host: aardvark-dns
# on port 53 of podman's bridges. Docker's own resolver answers inside each container instead.
CONTAINER_DNS=@@container_dns

# nftables keeps the table in its own file, included from Debian's /etc/nftables.conf, which
# nftables.service loads at boot.
NFT_CONF=/etc/nftables.conf
NFT_DIR=/etc/nftables.d
NFT_RULES_FILE=/etc/nftables.d/matrix-wizard.nft
NFT_INCLUDE='include "/etc/nftables.d/matrix-wizard.nft"'

DRY_RUN=0
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h | --help)
            echo "usage: $0 [--dry-run]"
            exit 0
            ;;
        *)
            echo "firewall.sh: unknown option '$arg'; use --dry-run or --help" >&2
            exit 2
            ;;
    esac
done

run() {
    printf '+ %s\n' "$*"
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

# Print each TCP port sshd is set to listen on, from its effective configuration.
sshd_config_ports() {
    command -v sshd >/dev/null 2>&1 || return 0
    sshd -T 2>/dev/null | awk '
        $1 == "port" { print $2 }
        $1 == "listenaddress" { n = split($2, part, ":"); print part[n] }
    ' || true
}

# Print each TCP port a process named sshd listens on now.
sshd_listening_ports() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Htlnp 2>/dev/null | awk '
        index($0, "((\"sshd\",") { n = split($4, part, ":"); print part[n] }
    ' || true
}

# Print the port the SSH session running this script came in on, if any.
session_port() {
    printf '%s\n' "${SSH_CONNECTION:-}" | awk 'NF == 4 { print $4 }'
}

is_port() {
    case "$1" in
        "" | *[!0-9]* | 0* | ??????*) return 1 ;;
    esac
    [ "$1" -le 65535 ]
}

# Add a rule keeping an SSH port open that the answers did not name, and say why.
keep_ssh_port() {
    port=$1
    why=$2
    is_port "$port" || return 0
    [ "$port" != "$ANSWERED_SSH_PORT" ] || return 0
    case "
$RULES
" in
        *"
$port tcp "*) return 0 ;;
    esac
    echo "firewall.sh: also keeping port $port/tcp open: $why (the answers name SSH port $ANSWERED_SSH_PORT)"
    RULES="$RULES
$port tcp ssh-in-use"
}

for port in $(sshd_config_ports); do
    keep_ssh_port "$port" "sshd is set to listen on it"
done
for port in $(sshd_listening_ports); do
    keep_ssh_port "$port" "sshd listens on it"
done
for port in $(session_port); do
    keep_ssh_port "$port" "this SSH session came in on it"
done

nft_ruleset() {
    echo "table inet matrix_wizard"
    echo "delete table inet matrix_wizard"
    echo "table inet matrix_wizard {"
    echo "    chain input {"
    echo "        type filter hook input priority filter; policy drop;"
    echo "        ct state established,related accept"
    echo "        ct state invalid drop"
    echo "        iif \"lo\" accept"
    echo "        meta l4proto { icmp, ipv6-icmp } accept"
    while read -r ports protocol purpose; do
        echo "        $protocol dport $ports accept comment \"$purpose\""
    done <<EOF
$RULES
EOF
    if [ "$CONTAINER_DNS" = 1 ]; then
        for bridge in podman cni-podman; do
            echo "        iifname \"$bridge*\" meta l4proto { tcp, udp } th dport 53 accept comment \"container-dns\""
        done
    fi
    echo "    }"
    echo "}"
}

# Make nftables.service load the rules file at boot: include it once, then enable the service.
keep_nft_across_reboots() {
    if [ -f "$NFT_CONF" ] && grep -qxF "$NFT_INCLUDE" "$NFT_CONF"; then
        echo "firewall.sh: $NFT_CONF already includes $NFT_RULES_FILE"
    elif [ "$DRY_RUN" = 1 ]; then
        echo "+ append to $NFT_CONF: $NFT_INCLUDE"
    elif [ -f "$NFT_CONF" ]; then
        printf '%s\n' "$NFT_INCLUDE" >>"$NFT_CONF"
    else
        printf '#!/usr/sbin/nft -f\n%s\n' "$NFT_INCLUDE" >"$NFT_CONF"
        chmod 755 "$NFT_CONF"
    fi
    if command -v systemctl >/dev/null 2>&1; then
        run systemctl enable nftables
    else
        echo "firewall.sh: no systemctl here: have $NFT_CONF loaded at boot (nft -f $NFT_CONF)"
    fi
}

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "firewall.sh: changing the firewall needs root; run it with sudo" >&2
    exit 1
fi

if command -v ufw >/dev/null 2>&1; then
    echo "firewall.sh: using ufw"
    run ufw default deny incoming
    run ufw default allow outgoing
    while read -r ports protocol purpose; do
        run ufw allow "$(echo "$ports" | tr - :)/$protocol" comment "matrix-wizard $purpose"
    done <<EOF
$RULES
EOF
    run ufw --force enable
elif command -v nft >/dev/null 2>&1; then
    echo "firewall.sh: using nftables (table inet matrix_wizard, kept in $NFT_RULES_FILE)"
    if [ "$DRY_RUN" = 1 ]; then
        echo "+ write $NFT_RULES_FILE:"
        nft_ruleset
        echo "+ nft -f $NFT_RULES_FILE"
    else
        mkdir -p "$NFT_DIR"
        nft_ruleset >"$NFT_RULES_FILE.new"
        # Load before keeping: a ruleset nft refuses leaves the rules in force and on disk as they were.
        nft -f "$NFT_RULES_FILE.new"
        mv -f "$NFT_RULES_FILE.new" "$NFT_RULES_FILE"
    fi
    keep_nft_across_reboots
elif [ "$DRY_RUN" = 1 ]; then
    echo "firewall.sh: neither ufw nor nft is installed; a real run stops here until one is (apt install ufw)"
    echo "firewall.sh: with nftables it would load:"
    nft_ruleset
else
    echo "firewall.sh: neither ufw nor nft is installed; install one (apt install ufw)" >&2
    exit 1
fi
