"""TLS with a throwaway CA (trustme): the server serves HTTPS, a profile trusts the CA it
is given (--ca-bundle) and refuses a server certificate nobody vouched for."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from mlrig.exceptions import StoreError
from mlrig.stores.rest import RestStore
from mlrig.testing.server import make_token, served


def test_https_with_a_private_ca(tmp_path: Path, member) -> None:  # type: ignore[no-untyped-def]
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = (tmp_path / "server.pem", tmp_path / "server.key",
                                 tmp_path / "ca.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    with served(tmp_path, certfile=str(certfile), keyfile=str(keyfile)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with pytest.raises(StoreError, match="certificate is not trusted"):
            RestStore(server.url, token=server.admin_token).is_initialized()
        trusted = RestStore(server.url, {"ca_bundle": str(cafile)}, token=server.admin_token)
        assert trusted.is_initialized() is False
        trusted.close()

        helen = member("helen")
        env = {"H": make_token(server, "helen", "editor")}
        assert helen("profile", "list").exit_code == 0
        refused = helen("profile", "create", "team", "-t", "rest", "--url", server.url,
                        "--token-env", "H", env=env)
        assert refused.exit_code == 1 and "--ca-bundle" in refused.stderr
        created = helen("profile", "create", "team", "-t", "rest", "--url", server.url,
                        "--token-env", "H", "--ca-bundle", str(cafile), env=env)
        assert created.exit_code == 0, created.output
        listed = helen("--profile", "team", "stack", "list", env=env)
        assert listed.exit_code == 0 and "default" in listed.stdout
        status = helen("server", "status", "-o", "json",
                       env={"MLRIG_CONFIG_PATH": str(server.config_dir)})
        assert '"health": "ok"' in status.stdout
