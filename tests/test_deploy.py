"""The container image and the Kubernetes manifests agree with the project they ship.

No container engine or cluster is available where the tests run, so these checks read the
Dockerfile and the manifests and compare them with pyproject.toml, the package and the CLI.
(.ci/image builds and smoke-tests the image where an engine exists.)
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from scanner.run.shard import K8S_INDEX_ENV, SHARD_PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
KUBERNETES = ROOT / "deploy" / "kubernetes"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def python_version_arg() -> str:
    (default,) = [args.partition("=")[2] for word, args in instructions()
                  if word == "ARG" and args.startswith("PYTHON_VERSION=")]
    return default


def test_python_version_satisfies_and_matches_pyproject() -> None:
    version = python_version_arg()
    assert Version(version) in SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert version == PYPROJECT["tool"]["mypy"]["python_version"]
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    bases = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert len(bases) >= 2, "multi-stage: build, then a runtime stage"
    assert set(bases) == {"python:${PYTHON_VERSION}-slim-bookworm"}, \
        "every stage on the same slim Python, so the venv's interpreter path exists at runtime"


def test_build_stage_copies_what_the_build_needs_and_installs_only_the_project() -> None:
    build = stages()[0]
    copied = [args.split()[:-1] for word, args in build if word == "COPY"]
    sources = {source for group in copied for source in group}
    project = PYPROJECT["project"]
    packages = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {"pyproject.toml", project["readme"]} | {p.rstrip("*") for p in packages}
    assert needed <= sources, f"the build needs {needed - sources}"
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for source in sources:
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), \
            f".dockerignore hides {source} from the build"
    commands = " && ".join(args for word, args in build if word == "RUN")
    installs = [shlex.split(part) for part in commands.split("&&") if " install " in part
                or " wheel " in part]
    assert installs, "the build stage installs the project"
    for argv in installs:
        targets = [arg for arg in argv[argv.index("install" if "install" in argv else "wheel")
                                       + 1:] if not arg.startswith("-")]
        for target in targets:
            assert target in (".", "/wheels") or target.startswith("/wheels/"), \
                f"{target!r}: dependencies come from pyproject.toml, not the Dockerfile"
    assert "PIP_NO_CACHE_DIR=1" in " ".join(args for word, args in build if word == "ENV")


def test_runtime_stage_is_small_non_root_and_runs_the_entry_point() -> None:
    runtime = stages()[-1]
    runs = " ".join(args for word, args in runtime if word == "RUN")
    assert not re.search(r"\b(apt-get|apk|gcc|make|build-essential)\b", runs), runs
    assert not re.search(r"pip install", runs), "nothing is installed in the runtime stage"
    assert re.search(r"pip uninstall --yes .*\bpip\b", runs), "pip itself is removed"
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies == ["--from=build /opt/mtlsweep /opt/mtlsweep"], "only the venv is copied"
    (user,) = [args for word, args in runtime if word == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root user (runAsNonRoot checks it)"
    (entrypoint,) = [args for word, args in runtime if word == "ENTRYPOINT"]
    assert entrypoint == '["mtlsweep"]'
    assert "mtlsweep" in PYPROJECT["project"]["scripts"]
    (volumes,) = [args for word, args in runtime if word == "VOLUME"]
    assert sorted(yaml.safe_load(volumes)) == ["/config", "/results"]
    readme = (ROOT / "README.md").read_text()
    for volume in ("/config", "/results"):
        assert volume in readme, f"README documents the {volume} volume"


def manifests() -> dict[str, dict]:
    documents = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            documents[f"{path.name}:{document['kind']}"] = document
    return documents


def container_of(pod_spec: dict, name: str) -> dict:
    (container,) = [c for c in pod_spec["containers"] if c["name"] == name]
    return container


def test_cronjob_runs_an_indexed_job_whose_shards_match_the_cli() -> None:
    docs = manifests()
    cronjob = docs["cronjob.yaml:CronJob"]
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["completionMode"] == "Indexed"
    pod = job["template"]["spec"]
    container = container_of(pod, "mtlsweep")
    args = container["args"]
    assert args[0] == "scan"
    (shards,) = [int(a.split("=", 1)[1]) for a in args if a.startswith("--shards=")]
    assert shards == job["completions"] == job["parallelism"]
    assert K8S_INDEX_ENV not in {e["name"] for e in container.get("env", [])}, \
        "Kubernetes sets the index itself"
    (output,) = [a.split("=", 1)[1] for a in args if a.startswith("--output=")]
    assert SHARD_PLACEHOLDER in output and "--resume" in args, \
        "each index resumes its own file when its pod is retried"
    for variable in re.findall(r"\$\((\w+)\)", " ".join(args)):
        assert variable in {e["name"] for e in container["env"]}, \
            f"$({variable}) is only expanded for variables the container defines"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    inventory = mounts["/config"]
    assert inventory["readOnly"] is True
    assert volumes[inventory["name"]]["configMap"]["name"] == \
        docs["configmap.yaml:ConfigMap"]["metadata"]["name"]
    assert args[1] == "/config/" + next(iter(docs["configmap.yaml:ConfigMap"]["data"]))
    assert volumes[mounts["/results"]["name"]]["persistentVolumeClaim"]["claimName"] == \
        docs["pvc.yaml:PersistentVolumeClaim"]["metadata"]["name"]
    assert "/tmp" in mounts, "a writable /tmp under a read-only root file system"
    assert pod["restartPolicy"] == "Never", "podFailurePolicy needs it"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    exit_codes = [rule["onExitCodes"]["values"] for rule in job["podFailurePolicy"]["rules"]
                  if "onExitCodes" in rule]
    assert exit_codes == [[2]], "usage errors fail the Job at once; others are retried"


def test_manifests_use_the_image_user_and_an_inventory_the_cli_accepts(tmp_path: Path) -> None:
    from scanner.config.inventory import load_inventory
    from scanner.probes import PROBES

    docs = manifests()
    (user,) = [args for word, args in instructions() if word == "USER"]
    for name in ("cronjob.yaml:CronJob", "merge-job.yaml:Job"):
        spec = docs[name]["spec"]
        pod = (spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec)["template"]["spec"]
        assert str(pod["securityContext"]["runAsUser"]) == user.split(":")[0]
    for name, text in docs["configmap.yaml:ConfigMap"]["data"].items():
        path = tmp_path / name
        path.write_text(text)
        assert load_inventory(path, known_probes=PROBES).targets


@pytest.mark.parametrize("name", ["cronjob.yaml", "merge-job.yaml", "configmap.yaml",
                                  "pvc.yaml"])
def test_kustomization_lists_the_sweep_resources(name: str) -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert (name in kustomization["resources"]) == (name != "merge-job.yaml")
    assert (KUBERNETES / name).is_file()


def test_one_version_source() -> None:
    """pyproject reads the version from ``scanner.__version__``; manifests pin that image tag."""
    from scanner import __version__

    assert "version" not in PYPROJECT["project"], "the version lives in scanner/__init__.py"
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "scanner.__version__"}
    for manifest in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        tags = re.findall(r"image:\s*\S+/mtlsweep:(\S+)", manifest.read_text())
        assert all(tag == __version__ for tag in tags), (manifest.name, tags, __version__)
