#!/usr/bin/env python3
"""A recording stand-in for gcloud, put first on PATH by tests/test_setup_gcp.py.

Each call appends its arguments as one JSON line to $GCLOUD_LOG. `describe` succeeds only for
the resource kinds named in $GCLOUD_EXISTING (comma-separated: repositories, service-accounts,
workload-identity-pools, providers); `projects describe` prints $GCLOUD_PROJECT_NUMBER;
`keys list` prints $GCLOUD_KEYS; `keys create FILE` writes a dummy key there.
"""

import json
import os
import sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["GCLOUD_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\n")

if args[:2] == ["projects", "describe"]:
    print(os.environ.get("GCLOUD_PROJECT_NUMBER", "123456789012"))
elif "describe" in args:
    kind = args[args.index("describe") - 1]
    if kind not in os.environ.get("GCLOUD_EXISTING", "").split(","):
        sys.exit("ERROR: NOT_FOUND")
elif args[2:4] == ["keys", "list"]:
    print(os.environ.get("GCLOUD_KEYS", ""))
elif args[2:4] == ["keys", "create"]:
    Path(args[4]).write_text('{"type": "service_account", "private_key": "dummy"}\n')
