#!/bin/sh
# Open exactly the inbound ports this Matrix deployment uses and refuse the rest.
# Written by matrix-wizard. Uses ufw when it is installed, else nftables.
# Usage: sudo ./firewall.sh [--dry-run]   (--dry-run prints the rules and changes nothing)
set -eu

# One rule a line: port (or first-last range), protocol, purpose.
RULES=@@rules

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
    echo "    }"
    echo "}"
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
    echo "firewall.sh: using nftables (table inet matrix_wizard)"
    if [ "$DRY_RUN" = 1 ]; then
        echo "+ nft -f - <<EOF"
        nft_ruleset
        echo "EOF"
    else
        nft_ruleset | nft -f -
        echo "The rules are loaded but not kept across a reboot. To keep them, run:"
        echo "  nft list table inet matrix_wizard >> /etc/nftables.conf"
        echo "  systemctl enable nftables"
    fi
elif [ "$DRY_RUN" = 1 ]; then
    echo "firewall.sh: neither ufw nor nft is installed; a real run stops here until one is (apt install ufw)"
    echo "firewall.sh: with nftables it would load:"
    nft_ruleset
else
    echo "firewall.sh: neither ufw nor nft is installed; install one (apt install ufw)" >&2
    exit 1
fi
