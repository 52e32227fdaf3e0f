#!/usr/bin/env python3
"""Checks of charts/sigv4-injector: lint, schema, and what `helm template` renders.

    tests/chart/test_chart.py GROUP...   (kubecheck lint webhook certs config binary deployment
                                          schema checksum network)
    tests/chart/test_chart.py all

Builds its tools itself (scripts/tools.sh helm|kubecheck), so a fresh machine needs only Go.
Prints PASS or FAIL per group; exits 1 when a group fails.

Not checked here: reuse of the helm-mode Secret on upgrade, because `lookup` returns nothing
without a cluster. It belongs with the end-to-end tier (a real apiserver); see docs/chart.md.
"""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from chartlib import Failure  # noqa: E402 (after the line above)
from lint_checks import test_kubecheck, test_lint, test_schema  # noqa: E402
from network_checks import test_network  # noqa: E402
from pod_checks import test_binary, test_checksum, test_config, test_deployment  # noqa: E402
from webhook_checks import test_certs, test_webhook  # noqa: E402

TESTS = {"kubecheck": test_kubecheck, "lint": test_lint, "webhook": test_webhook,
         "certs": test_certs, "config": test_config, "binary": test_binary,
         "deployment": test_deployment, "schema": test_schema, "checksum": test_checksum,
         "network": test_network}


def main(argv):
    names = list(TESTS) if argv[1:] in ([], ["all"]) else argv[1:]
    unknown = [n for n in names if n not in TESTS]
    if unknown:
        print("unknown group(s) %s; known: %s" % (" ".join(unknown), " ".join(TESTS)))
        return 2
    failed = 0
    for name in names:
        try:
            TESTS[name]()
            print("PASS chart.%s" % name)
        except Failure as err:
            failed += 1
            print("FAIL chart.%s: %s" % (name, err))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
