"""Answer sets that the smoke-generation tests render, build and run.

Each set is passed to Copier as `--data`-style answers on top of the template's defaults. Together
they cover both publish_auth modes, every python_min_version and license choice, names with
hyphens, dots and digits, non-ASCII authors, unusual but valid versions and locations, internal
dependencies in both modes and the opt-in template-update workflow. Package and distribution names
differ between sets so that all of them can share one virtualenv.
"""

from __future__ import annotations

ANSWER_SETS: dict[str, dict[str, object]] = {
    "defaults": {},
    "wif-hyphen-digits": {
        "project_name": "Data Tools 2",
        "python_min_version": "3.12",
        "license": "MIT",
        "github_repository": "analytics-team/data-tools-2",
        "gcp_project_id": "analytics-prod-42",
        "gcp_project_number": "123456789012",
        "github_repository_id": "1000001",
        "github_owner_id": "2000001",
        "gcp_workload_identity_pool": "gh-pool",
        "gcp_workload_identity_provider": "gh-oidc",
        "template_updates": True,
    },
    "key-apache": {
        "project_name": "Ledger Sync",
        "description": "Synchronises ledgers between services.",
        "python_min_version": "3.13",
        "license": "Apache-2.0",
        "publish_auth": "service_account_key",
        "gcp_project_id": "finance-tools-1",
        "gcp_repository": "finance-python",
        "gcp_service_account": "ledger-publisher",
        "github_repository": "Fin-Org/ledger_sync",
        "template_updates": True,
        "internal_dependencies": True,  # the reader account's key in CI
    },
    "non-ascii-author": {
        "project_name": "Zoë's Toolkit",
        "author_name": "Zoë Ångström-Müller",
        "author_email": "zoe.angstrom@example.org",
        "copyright_holder": "Ångström Data AB",
        "license": "BSD-3-Clause",
        "python_min_version": "3.14",
        "gcp_location": "europe-west4",
    },
    "explicit-names-rc": {
        "project_name": "Acme Billing Core",
        "distribution_name": "acme.billing-core",
        "package_name": "billing_core",
        "initial_version": "1.0.0rc1",
        "copyright_holder": "Acme Corporation",
        "gcp_location": "europe",
        "gcp_repository": "acme-python",
        "publish_auth": "service_account_key",
    },
    "leading-digit-key": {
        "project_name": "3D Mesh Kit",
        "initial_version": "2.0.0",
        "publish_auth": "service_account_key",
        "author_name": "O'Brien, Seán",
        "author_email": "sean.obrien@example.ie",
    },
    "cjk-author-multiregion": {
        "project_name": "Geo Index",
        "author_name": "山田 太郎",
        "author_email": "taro.yamada@example.jp",
        "license": "MIT",
        "gcp_location": "us",
        "initial_version": "0.0.1",
        "python_min_version": "3.13",
    },
    "unlisted-location-post": {
        "project_name": "Edge Cache",
        "gcp_location": "asia-central9",
        "gcp_location_unlisted_ok": True,
        "initial_version": "1.2.3.post1",
        "license": "Apache-2.0",
        "gcp_project_id": "edge-cache-prod",
        "gcp_project_number": "987654321",
    },
    # Depends on other internal packages (tests/test_dependencies.py installs it), read through
    # workload identity with its own reader account.
    "internal-deps-wif": {
        "project_name": "Orders Client",
        "internal_dependencies": True,
        "gcp_reader_service_account": "ci-package-reader",
        "github_repository": "shop-org/orders-client",
        "gcp_project_id": "shop-packages",
        "gcp_project_number": "555666777888",
        "gcp_location": "europe-west1",
    },
}

# Questions whose defaults are distinctive: a set that answers one with something else must not
# show its default (tests/helpers.py's `default`) anywhere in its project. An ordinary word such as
# "github" (the provider ID's default) could stand anywhere, so it is not listed.
DISTINCTIVE_QUESTIONS = (
    "project_name",
    "distribution_name",
    "package_name",
    "author_name",
    "author_email",
    "gcp_project_id",
    "gcp_service_account",
)
