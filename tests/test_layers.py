"""No module imports upward: each layer of app/ may import only the layers below it, and the
concern package only through its public face (its walls). Walks every import in app/."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# Each package and what it may import from app (besides itself).
ALLOWED: dict[str, set[str]] = {
    "app.core": set(),
    "app.models": {"app.core"},
    "app.events": {"app.core", "app.models"},
    "app.concerns": {"app.core", "app.models", "app.events", "app.records"},
    "app.webhooks": {"app.core", "app.models", "app.events"},
    "app.records": {"app.core", "app.models"},
    "app.services": {
        "app.core",
        "app.models",
        "app.events",
        "app.records",
        "app.concerns.fragment",
    },
    # The seed is loaded by itself too: it imports the package (its write hook), as main does.
    "app.seed": {"app.core", "app.models", "app.services", "app.concerns", "app.events"},
    "app.exports": {"app.core", "app.models", "app.concerns"},
    # Pages read as the API does: the same dependencies, services and concern read model.
    "app.pages": {"app.core", "app.models", "app.services", "app.concerns", "app.api.deps"},
    "app.api": {
        "app.core",
        "app.models",
        "app.services",
        "app.concerns",
        "app.events",
        "app.webhooks",
        "app.exports",
    },
}
# What the rest of the app may import from the concern package.
CONCERNS_FACE = {
    "app.concerns",
    "app.concerns.schemas",
    "app.concerns.fastpath",
    "app.concerns.fragment",
}
TOP = {"app.main", "app.cli", "app.cli_export"}  # the composition roots import what they assemble


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path) -> bool:
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(path: Path, root: Path) -> set[tuple[int, str]]:
    """The app modules a file imports (`from app.concerns import store` imports the module
    app.concerns.store; `from app.concerns import ConcernReadModel`, app.concerns)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add((node.lineno, submodule if is_module(submodule, root) else node.module))
    return {(line, name) for line, name in found if name.startswith("app.")}


def layer_of(module: str) -> str | None:
    for layer in ALLOWED:
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def violations(path: Path, root: Path = APP) -> list[str]:
    source = module_name(path, root)
    layer = layer_of(source)
    found = []
    for line, target in sorted(imports(path, root)):
        target_layer = layer_of(target)
        where = f"{path.relative_to(root.parent)}:{line} imports {target}"
        if source in TOP or target_layer is None or target_layer == layer:
            pass
        elif layer is None:
            found.append(f"{where}: {source} belongs to no layer")
            continue
        elif not any(target == a or target.startswith(a + ".") for a in ALLOWED[layer]):
            found.append(f"{where}: {layer} may not import {target_layer}")
            continue
        if (
            target_layer == "app.concerns"
            and layer != "app.concerns"
            and target not in CONCERNS_FACE
        ):
            found.append(f"{where}: past the concern package's public face")
    return found


def test_no_module_imports_upward() -> None:
    problems = [v for path in sorted(APP.rglob("*.py")) for v in violations(path)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "code", "expected"),
    [
        ("app/core/x.py", "from app.services import zoos\n", "app.core may not import"),
        ("app/concerns/x.py", "import app.api.deps\n", "app.concerns may not import"),
        ("app/api/x.py", "from app.concerns import store\n", "public face"),
        ("app/services/x.py", "from app.concerns.fragment import mark\n", None),
    ],
)
def test_the_check_catches_an_upward_import(
    tmp_path: Path, source: str, code: str, expected: str | None
) -> None:
    root = tmp_path / "app"
    for package in ("core", "models", "concerns", "services", "api"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    for name in ("services/zoos.py", "api/deps.py", "concerns/store.py", "concerns/fragment.py"):
        (root / name).write_text("")
    (tmp_path / source).write_text(code)
    found = violations(tmp_path / source, root)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found
