"""A native Caddy or Traefik reads apply.sh's copy of the certificate files, owned by its user."""

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import apply_script, caddy, certificates

FILES = {
    "proxy__tls": "files",
    "proxy__cert_path": "/etc/ssl/matrix/fullchain.pem",
    "proxy__key_path": "/etc/ssl/matrix/privkey.pem",
}


@pytest.mark.parametrize("proxy", ["caddy", "traefik"])
def test_a_native_proxy_with_its_own_user_reads_a_copy_in_its_folder(proxy: str) -> None:
    ctx = context_for(answers_for(proxy=proxy, deployment__kind="native", **FILES))
    copies = certificates.proxy_copy_dir(ctx)
    assert copies == f"/var/lib/matrix-wizard/{proxy}/certificates"
    seen = certificates.proxy_certificate_files(ctx)
    assert seen == certificates.CertificateFiles(f"{copies}/fullchain.pem", f"{copies}/privkey.pem")
    script = apply_script.render(ctx)[apply_script.APPLY_SCRIPT].text
    assert f"PROXY_CERT_DIR={copies}" in script
    assert f"PROXY_OWNER={proxy}" in script


def test_caddy_names_the_copy_in_its_tls_directive() -> None:
    ctx = context_for(answers_for(proxy="caddy", deployment__kind="native", **FILES))
    caddyfile = caddy.render_caddyfile(ctx)
    assert 'tls "/var/lib/matrix-wizard/caddy/certificates/fullchain.pem"' in caddyfile


@pytest.mark.parametrize(
    ("proxy", "deployment", "tls"),
    [("nginx", "native", "files"), ("caddy", "compose", "files"), ("caddy", "native", "acme")],
)
def test_no_copy_where_the_proxy_reads_the_files_itself(
    proxy: str, deployment: str, tls: str
) -> None:
    sets = {**FILES, "proxy__tls": tls} if tls == "files" else {"proxy__tls": tls}
    ctx = context_for(answers_for(proxy=proxy, deployment__kind=deployment, **sets))
    assert certificates.proxy_copy_dir(ctx) is None
    script = apply_script.render(ctx)[apply_script.APPLY_SCRIPT].text
    assert "PROXY_CERT_DIR=''" in script
