"""Every pinned release and container image of a bundle, in one table so a bump is one edit.

Each image names an exact release, never a floating tag such as `postgres:16`, so a bundle
applied twice runs the same programs. Tags are ones the projects publish (nginx 1.28.0, Caddy
2.10.0, Traefik v3.7.15 as in real-programs.md, PostgreSQL 16.9, coturn 4.6.2-r12, Redis 7.4.2).
"""

# Synapse runs from a virtualenv built with pip natively and from its official image under
# compose, both this release; the end-to-end tests use it too.
SYNAPSE_VERSION = "1.163.2"
# matrix-org/synapse-s3-storage-provider: S3 media for Synapse, in the venv or a derived image.
S3_STORAGE_PROVIDER_VERSION = "1.7.0"
# Traefik is not packaged by Debian or Ubuntu: apply.sh fetches this release's static binary.
TRAEFIK_VERSION = "3.7.15"
# Dendrite and the Conduit family: the releases run natively and by the compose images.
# continuwuity v26.8.1 (2026-08-22, its CHANGELOG.md) is the release whose example config
# assets/known-keys/continuwuity.yaml was read from; tuwunel v1.9.0 is the facts snapshot's.
DENDRITE_VERSION = "0.15.2"
CONDUIT_VERSION = "0.10.12"
CONTINUWUITY_VERSION = "26.8.1"
TUWUNEL_VERSION = "1.9.0"
# Natively, build-dendrite.sh builds Dendrite from its Go module with this Go: the Go module
# proxy's zip of the toolchain (golang.org/toolchain@v0.0.1-go<version>.linux-<arch>), refused
# unless its sha256 is the one here. Each sum is of the zip that the go command fetched and
# checked against the checksum database (sum.golang.org) on 2026-12-02.
DENDRITE_MODULE = "github.com/element-hq/dendrite"
GO_VERSION = "1.26.8"
GO_TOOLCHAIN_SHA256 = {
    "amd64": "30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7",
    "arm64": "02b36b6787b3ac767668f630e2998df45a3b1f9ffee08d1bf3ef6487cd658d99",
}

# Element Web: the official image under compose, the release tarball natively. v1.12.32 is the
# newest release this project has seen pinned by others (docs and compose files, 2026).
ELEMENT_WEB_VERSION = "1.12.32"
# MatrixRTC calls: LiveKit's server (the release the tests build from its Go module; later ones
# replace pion modules with forks the Go module proxy does not serve) and element-hq's
# lk-jwt-service 0.5.0, whose README lists the environment the bundle sets.
LIVEKIT_VERSION = "1.13.5"
LK_JWT_SERVICE_VERSION = "0.5.0"
# Matrix Authentication Service: the release run from its image under compose and from its
# release archive natively, the workspace version of the MAS Cargo.toml read; the keys written
# follow its configuration reference (docs/reference/configuration.md). Synapse 1.136 or later.
MAS_VERSION = "1.2.0"

NGINX_IMAGE = "nginx:1.28.0-alpine"
CADDY_IMAGE = "caddy:2.10.0-alpine"
TRAEFIK_IMAGE = f"traefik:v{TRAEFIK_VERSION}"
POSTGRES_IMAGE = "postgres:16.9"
COTURN_IMAGE = "coturn/coturn:4.6.2-r12"
REDIS_IMAGE = "redis:7.4.2-alpine"
LIVEKIT_IMAGE = f"livekit/livekit-server:v{LIVEKIT_VERSION}"
LK_JWT_SERVICE_IMAGE = f"ghcr.io/element-hq/lk-jwt-service:{LK_JWT_SERVICE_VERSION}"
PROMETHEUS_IMAGE = "prom/prometheus:v2.53.4"
GRAFANA_IMAGE = "grafana/grafana:11.6.0"
ELEMENT_WEB_IMAGE = f"vectorim/element-web:v{ELEMENT_WEB_VERSION}"
SYNAPSE_IMAGE = f"matrixdotorg/synapse:v{SYNAPSE_VERSION}"
DENDRITE_IMAGE = f"ghcr.io/element-hq/dendrite-monolith:v{DENDRITE_VERSION}"
CONDUIT_IMAGE = f"matrixconduit/matrix-conduit:v{CONDUIT_VERSION}"
CONTINUWUITY_IMAGE = f"ghcr.io/continuwuity/continuwuity:v{CONTINUWUITY_VERSION}"
TUWUNEL_IMAGE = f"ghcr.io/matrix-construct/tuwunel:v{TUWUNEL_VERSION}"
MAS_IMAGE = f"ghcr.io/element-hq/matrix-authentication-service:{MAS_VERSION}"
# The image the bundle builds from SYNAPSE_IMAGE with the S3 storage provider added; a local
# name that no registry serves, so compose builds it instead of pulling it.
SYNAPSE_S3_IMAGE = f"matrix-wizard/synapse-s3:v{SYNAPSE_VERSION}-s3-{S3_STORAGE_PROVIDER_VERSION}"
