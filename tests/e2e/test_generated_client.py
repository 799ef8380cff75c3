"""A Python client generated from the committed openapi.json with openapi-python-client works
against the real service: readable names (`api.zoos.zoos_list`), typed models, the concern
list as JSON and as CSV, and a report submitted with a reporter key.

Public reads are called with a plain `Client`: openapi-python-client types every operation
that lists a security requirement as taking an `AuthenticatedClient`, even when `{}` (no key)
is one of the alternatives, but the call needs no token.
"""

import csv
import importlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.server import REPO_ROOT, admin_token, served_app

DOCUMENT = REPO_ROOT / "openapi.json"
PACKAGE = "zwr_client"
GENERATE_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported from a temporary folder."""
    folder = tmp_path_factory.mktemp("generated-client")
    config = folder / "config.yaml"
    # No ruff run on the output. The generator knows no text/csv or NDJSON body (it would skip
    # the file uploads): they are treated as binary, in requests and responses alike.
    config.write_text(
        "post_hooks: []\ncontent_type_overrides:\n  text/csv: application/octet-stream\n"
        "  application/x-ndjson: application/octet-stream\n"
        "  application/zip: application/octet-stream\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--path", str(DOCUMENT), "--meta", "none", "--config", str(config)),
            *("--output-path", str(folder / PACKAGE)),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"generation failed:\n{done.stdout}\n{done.stderr}"
    # Every operation and schema was generated: the tool warns about any it had to skip.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(module: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_the_generated_names_are_the_operation_ids(client_package: ModuleType) -> None:
    for tag, operations in {
        "zoos": ["zoos_list", "zoos_get", "zoos_create", "zoos_update", "zoos_delete"],
        "concerns": ["zoo_concerns_get", "zoo_concerns_csv", "concerns_ranking"],
        "reports": ["reports_submit", "reports_get"],
        "incidents": ["incidents_list", "incident_transitions_create"],
    }.items():
        for operation in operations:
            module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
            assert callable(module.sync) and callable(module.sync_detailed)
    folder = Path(client_package.__file__).parent / "api"
    names = [p.stem for p in folder.glob("*/*.py") if p.stem != "__init__"]
    assert names and not [n for n in names if "api_v1" in n or len(n) > 30], names
    # One enum type for every country field, and the concern enums by name.
    assert model("CountryCode")("KP").value == "KP"
    assert {m.value for m in model("SubjectType")} == {"animal", "enclosure"}
    assert model("RuleId")("human_imposed_behaviour")


def test_a_generated_client_against_the_running_service(
    client_package: ModuleType, tmp_path: Path
) -> None:
    with served_app(tmp_path) as served:
        admin = client_package.AuthenticatedClient(
            base_url=served.base_url, token=admin_token(tmp_path), raise_on_unexpected_status=True
        )
        anonymous = client_package.Client(base_url=served.base_url, raise_on_unexpected_status=True)

        # The admin registers a zoo, a species and an animal: the documented examples.
        zoo = api("zoos.zoos_create").sync(client=admin, body=example("ZooCreate"))
        assert isinstance(zoo, model("ZooPublic")), zoo
        assert zoo.country_code == "KP"
        species = api("species.species_create").sync(client=admin, body=example("SpeciesCreate"))
        assert isinstance(species, model("SpeciesPublic")), species
        animal_in = example("AnimalCreate", zoo_id=zoo.id, species_id=species.id)
        animal = api("animals.animals_create").sync(client=admin, body=animal_in)
        assert isinstance(animal, model("AnimalPublic")), animal

        # A reporter key for that zoo submits the documented report.
        key_in = example("ApiKeyCreate", name="e2e reporter", role="reporter", zoos=[zoo.slug])
        key = api("keys.keys_create").sync(client=admin, body=key_in)
        assert isinstance(key, model("ApiKeyCreated")), key
        reporter = client_package.AuthenticatedClient(
            base_url=served.base_url, token=key.key, raise_on_unexpected_status=True
        )
        report_in = example("WelfareReportCreate", zoo_id=zoo.id, animal_id=animal.id)
        report = api("reports.reports_submit").sync(client=reporter, body=report_in)
        assert isinstance(report, model("WelfareReportPublic")), report
        assert report.incident_id

        # Anyone lists zoos ...
        page = api("zoos.zoos_list").sync(client=anonymous)
        assert isinstance(page, model("PageZooPublic")), page
        assert [z.slug for z in page.items] == [zoo.slug] and page.total == 1

        # ... and reads the zoo's concern list as JSON ...
        concerns = api("concerns.zoo_concerns_get").sync(zoo=zoo.slug, client=anonymous)
        assert isinstance(concerns, model("PageConcernItem")), concerns
        [item] = concerns.items
        assert item.subject_type == model("SubjectType").ANIMAL and item.subject_id == animal.id
        rules = {flag.rule.value for flag in item.flags}
        assert "human_imposed_behaviour" in rules, rules

        # ... and as CSV from its own operation (bytes: text/csv is read as binary, see the
        # generator's config above): the same flags, one row each.
        body = api("concerns.zoo_concerns_csv").sync(zoo=zoo.slug, client=anonymous)
        assert isinstance(body, bytes), body
        text = body.decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {(r["subject_id"], r["rule"]) for r in rows} == {
            (str(animal.id), rule) for rule in rules
        }
        detailed = api("concerns.zoo_concerns_csv").sync_detailed(zoo=zoo.slug, client=anonymous)
        assert detailed.headers["content-type"].startswith("text/csv")
        assert detailed.headers["etag"] and zoo.slug in detailed.headers["content-disposition"]


def example(schema: str, **changes: Any) -> Any:
    """The schema's documented example as the generated model, with `changes`."""
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    body = document["components"]["schemas"][schema]["examples"][0] | changes
    return model(schema).from_dict(body)
