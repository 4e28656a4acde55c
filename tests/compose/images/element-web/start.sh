#!/bin/sh
# Listen where ELEMENT_WEB_PORT says, as the official image's template does, and serve /app.
set -eu
printf 'server {\n    listen %s;\n    root /app;\n    index index.html;\n}\n' \
    "${ELEMENT_WEB_PORT:-80}" >/etc/nginx/conf.d/element-web.conf
exec nginx -g 'daemon off;'
